using TorchSharp;

namespace TuneSharp.Training.Observers;

/// <summary>
/// Scalars for TensorBoard through TorchSharp's <c>SummaryWriter</c> (one event file in <c>dir</c>): train/loss,
/// train/lr, train/grad_norm, train/tokens_per_s per step; eval/loss, eval/ppl, eval/accuracy per evaluation.
/// Each event is appended and the file closed at once, so a killed run keeps its events.
/// </summary>
public sealed class TensorBoardObserver : ITrainingObserver
{
    readonly TorchSharp.Modules.SummaryWriter _writer;
    readonly TimeProvider _clock;

    public TensorBoardObserver(string dir, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _writer = torch.utils.tensorboard.SummaryWriter(dir);
    }

    public string LogDir => _writer.LogDir;

    public void OnStart(RunInfo info) { }

    public void OnStep(StepMetrics m)
    {
        Scalar("train/loss", m.Loss, m.Step);
        Scalar("train/lr", m.LearningRate, m.Step);
        Scalar("train/grad_norm", m.GradNorm, m.Step);
        Scalar("train/tokens_per_s", m.TokensPerSecond, m.Step);
    }

    public void OnEval(EvalMetrics e)
    {
        Scalar("eval/loss", e.Loss, e.Step);
        Scalar("eval/ppl", e.Perplexity, e.Step);
        Scalar("eval/accuracy", e.TokenAccuracy, e.Step);
    }

    public void OnCheckpoint(long step, string path) { }
    public void OnEnd(RunSummary summary) { }

    void Scalar(string tag, double value, long step)
    {
        if (step > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(step), $"tensorboard: step {step} exceeds the writer's int32 range");
        // TorchSharp 0.107 takes the wall time as whole Unix seconds.
        _writer.add_scalar(tag, (float)value, (int)step, _clock.GetUtcNow().ToUnixTimeSeconds());
    }

    public void Dispose() { }
}
