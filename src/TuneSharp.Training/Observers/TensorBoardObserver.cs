using TorchSharp;

namespace TuneSharp.Training.Observers;

/// <summary>
/// Scalars for TensorBoard through TorchSharp's <c>SummaryWriter</c> (one event file in <c>dir</c>): train/loss,
/// train/lr, train/grad_norm, train/tokens_per_s and train/{name} for each named metric per step; eval/loss, eval/ppl,
/// eval/accuracy and eval/{name} per evaluation.
/// Each event is appended and the file closed at once, so a killed run keeps its events. The event file is created when
/// the run starts, not before: a run refused at start-up leaves no file behind.
/// </summary>
public sealed class TensorBoardObserver(string dir, TimeProvider? clock = null) : ITrainingObserver
{
    readonly TimeProvider _clock = clock ?? TimeProvider.System;
    TorchSharp.Modules.SummaryWriter? _writer;

    public string LogDir => dir;

    public void OnStart(RunInfo info) => _writer ??= torch.utils.tensorboard.SummaryWriter(dir);

    public void OnStep(StepMetrics m)
    {
        Scalar("train/loss", m.Loss, m.Step);
        Scalar("train/lr", m.LearningRate, m.Step);
        Scalar("train/grad_norm", m.GradNorm, m.Step);
        Scalar("train/tokens_per_s", m.TokensPerSecond, m.Step);
        foreach (var (name, value) in m.Metrics) Scalar($"train/{name}", value, m.Step);
    }

    public void OnEval(EvalMetrics e)
    {
        Scalar("eval/loss", e.Loss, e.Step);
        Scalar("eval/ppl", e.Perplexity, e.Step);
        Scalar("eval/accuracy", e.TokenAccuracy, e.Step);
        foreach (var (name, value) in e.Metrics) Scalar($"eval/{name}", value, e.Step);
    }

    public void OnCheckpoint(long step, string path) { }
    public void OnEnd(RunSummary summary) { }

    void Scalar(string tag, double value, long step)
    {
        if (step > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(step), $"tensorboard: step {step} exceeds the writer's int32 range");
        // TorchSharp 0.107 takes the wall time as whole Unix seconds.
        var writer = _writer ?? throw new InvalidOperationException($"{dir}: tensorboard event '{tag}' before OnStart");
        writer.add_scalar(tag, (float)value, (int)step, _clock.GetUtcNow().ToUnixTimeSeconds());
    }

    public void Dispose() { }
}
