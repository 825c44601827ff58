using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Report;

/// <summary>
/// The before/after story of a run, shared by every recipe: the held-out score and sample answers before the first
/// step (a fresh run only; shown at once as an evaluation at step 0 and a sample set), and at the end the same again,
/// written into the <see cref="RunSummary"/> every observer receives.
/// </summary>
/// <param name="forgetting">The forgetting check (general benchmarks before the first step and at the end), or null when off.</param>
/// <param name="log">Progress lines of the benchmarks.</param>
public sealed class RunReport(ITrainingObserver observers, SamplePrompts samples, double? estimatedPeakBytes, double? estimatedSeconds,
    Forgetting.ForgettingCheck? forgetting = null, TextWriter? log = null)
{
    IReadOnlyList<string> _before = [];

    /// <summary>Lines for the start notice (what the forgetting check will run, or why it does not).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Evaluates and samples the untouched model; returns the state with the baseline loss recorded.</summary>
    public TrainerState Before(TrainerState state, TrainableModel model, Func<EvalMetrics?> evaluate, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        if (evaluate() is { } baseline)
        {
            observers.OnEval(baseline);
            state = state with { EvalLossBefore = baseline.Loss };
        }
        ct.ThrowIfCancellationRequested();
        _before = samples.Generate(model, ct);
        if (_before.Count > 0) observers.OnSamples(new SampleSet(0, [.. samples.Prompts.Zip(_before)]));
        ct.ThrowIfCancellationRequested();
        forgetting?.Before(model, Progress);
        return state;
    }

    /// <summary>The end of the run: final evaluation and samples (not after an interruption), the summary to observers.</summary>
    public RunSummary Finish(RunStatus status, TrainerState state, double? lastLoss, double wallSeconds, TrainableModel model,
        Func<EvalMetrics?> evaluate)
    {
        bool interrupted = status == RunStatus.Interrupted;
        double? after = interrupted ? null : evaluate()?.Loss;
        var answers = interrupted ? [] : samples.Generate(model);
        if (answers.Count > 0) observers.OnSamples(new SampleSet(state.Step, [.. samples.Prompts.Zip(answers)]));
        var forgot = interrupted ? null : forgetting?.After(model, state.EvalLossBefore, after, Progress);
        var summary = new RunSummary
        {
            Status = RunCadence.Name(status),
            Steps = state.Step,
            FinalLoss = lastLoss,
            BestEvalLoss = state.BestEvalLoss,
            BestStep = state.BestStep,
            TrainedTokens = state.TrainedTokens,
            WallSeconds = wallSeconds,
            PeakMemoryBytes = ProcessMemory.PeakRssBytes() ?? 0,
            EstimatedPeakMemoryBytes = estimatedPeakBytes,
            EstimatedSeconds = estimatedSeconds,
            EvalLossBefore = state.EvalLossBefore,
            EvalLossAfter = after,
            Samples = [.. answers.Select((a, i) => (samples.Prompts[i], i < _before.Count ? _before[i] : "", a))],
            Forgetting = forgot,
        };
        observers.OnEnd(summary);
        return summary;
    }

    void Progress(string line) => log?.WriteLine($"benchmarks: {line}");
}
