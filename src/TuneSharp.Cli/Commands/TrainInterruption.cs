using TuneSharp.Training.Observers;
using TuneSharp.Training.Runtime;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// What a signal means to a training run. Before the first optimizer step it cancels start-up (model load, data
/// preparation: nothing to save yet), through <see cref="StartupToken"/>; from the first step on it asks the recipe to
/// finish the step and write a checkpoint, through <see cref="Stop"/>. Watching the steps as an observer keeps the two
/// apart without a race: a signal either cancels a run that has not stepped, or stops one that has.
/// </summary>
public sealed class TrainInterruption : ITrainingObserver
{
    readonly object _gate = new();
    readonly CancellationTokenSource _startup = new();
    bool _stepped;

    public StopSignal Stop { get; } = new();

    /// <summary>Give this to the recipe as its CancellationToken.</summary>
    public CancellationToken StartupToken => _startup.Token;

    /// <summary>Called when the verb is interrupted.</summary>
    public void Interrupt()
    {
        lock (_gate)
        {
            Stop.Request();
            if (!_stepped) _startup.Cancel();
        }
    }

    public void OnStep(StepMetrics metrics)
    {
        lock (_gate) _stepped = true;
    }

    public void OnStart(RunInfo info) { }
    public void OnEval(EvalMetrics metrics) { }
    public void OnCheckpoint(long step, string path) { }
    public void OnEnd(RunSummary summary) { }
    /// <summary>Nothing to release; the recipe disposes its observers, and a late signal must still find the token alive.</summary>
    public void Dispose() { }
}
