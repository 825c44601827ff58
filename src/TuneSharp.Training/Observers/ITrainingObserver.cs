namespace TuneSharp.Training.Observers;

/// <summary>What is known before the first step: shown by the progress display and written to the run summary.</summary>
public sealed record RunInfo
{
    public required string OutputDir { get; init; }
    public required string ModelName { get; init; }
    public required string Method { get; init; }
    public required long TotalParameters { get; init; }
    public required long TrainableParameters { get; init; }
    public required long TotalSteps { get; init; }
    public required int Epochs { get; init; }
    public required long StartStep { get; init; }
    public required int TrainExamples { get; init; }
    public required int ValidationExamples { get; init; }
    /// <summary>Trained (label) tokens per epoch and all tokens per epoch, from the data layer.</summary>
    public required long TrainedTokensPerEpoch { get; init; }
    public required long TokensPerEpoch { get; init; }
    /// <summary>Pre-flight estimates, compared with the measured values in the summary.</summary>
    public double? EstimatedPeakMemoryBytes { get; init; }
    public double? EstimatedSeconds { get; init; }
    /// <summary>Free-form lines for the start banner (dataset statistics, warnings).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>One optimizer step.</summary>
public sealed record StepMetrics(
    long Step,             // 1-based optimizer step just completed
    double Epoch,          // fractional epoch
    double Loss,           // mean over trained tokens of the step
    double LearningRate,
    double GradNorm,       // global norm before clipping
    long TrainedTokens,    // label tokens in this step
    long Tokens,           // real (non-pad) tokens in this step
    double StepSeconds,
    double TokensPerSecond)
{
    /// <summary>Recipe-specific values by name (e.g. <c>rewards/accuracies</c>, <c>kl</c>), rendered by every observer
    /// without per-metric code. See <see cref="NamedMetrics"/> for the naming rule.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = NamedMetrics.None;
}

/// <summary>One evaluation on the validation set.</summary>
public sealed record EvalMetrics(long Step, double Loss, double Perplexity, double TokenAccuracy, long Tokens, bool IsBest)
{
    /// <summary>Recipe-specific evaluation values by name, as <see cref="StepMetrics.Metrics"/>.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = NamedMetrics.None;
}

/// <summary>Generated answers to the configured sample prompts at a step (0 = before training).</summary>
public sealed record SampleSet(long Step, IReadOnlyList<(string Prompt, string Answer)> Samples);

/// <summary>The end of a run (completed, stopped early, or interrupted).</summary>
public sealed record RunSummary
{
    public required string Status { get; init; }          // completed | early_stopped | interrupted
    public required long Steps { get; init; }
    public required double? FinalLoss { get; init; }
    public required double? BestEvalLoss { get; init; }
    public required long? BestStep { get; init; }
    public required long TrainedTokens { get; init; }
    public required double WallSeconds { get; init; }
    public required double PeakMemoryBytes { get; init; }
    public double? EstimatedPeakMemoryBytes { get; init; }
    public double? EstimatedSeconds { get; init; }
    public double? EvalLossBefore { get; init; }
    public double? EvalLossAfter { get; init; }
    /// <summary>Prompt → (before, after) generations, when configured.</summary>
    public IReadOnlyList<(string Prompt, string Before, string After)> Samples { get; init; } = [];
    /// <summary>General benchmarks before -> after training (the forgetting check), when it ran.</summary>
    public Forgetting.ForgettingSummary? Forgetting { get; init; }
}

/// <summary>
/// Receives training events. Implementations (progress display, JSONL metrics, TensorBoard, plots, summary) must be
/// cheap: they run on the training thread between steps.
/// </summary>
public interface ITrainingObserver : IDisposable
{
    void OnStart(RunInfo info);
    void OnStep(StepMetrics metrics);
    void OnEval(EvalMetrics metrics);
    void OnCheckpoint(long step, string path);
    /// <summary>Sample answers, before training (step 0) and at the end; observers that do not show them ignore it.</summary>
    void OnSamples(SampleSet samples) { }
    void OnEnd(RunSummary summary);
}
