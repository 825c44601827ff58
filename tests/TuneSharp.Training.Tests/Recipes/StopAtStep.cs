using TuneSharp.Training.Observers;
using TuneSharp.Training.Runtime;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>Requests a graceful stop once step <c>step</c> is done, as a first Ctrl+C at that moment would.</summary>
sealed class StopAtStep(StopSignal stop, long step) : ITrainingObserver
{
    public void OnStart(RunInfo info) { }
    public void OnStep(StepMetrics metrics)
    {
        if (metrics.Step == step) stop.Request();
    }
    public void OnEval(EvalMetrics metrics) { }
    public void OnCheckpoint(long s, string path) { }
    public void OnEnd(RunSummary summary) { }
    public void Dispose() { }
}
