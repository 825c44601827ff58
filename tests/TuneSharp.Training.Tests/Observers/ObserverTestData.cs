using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Tests.Observers;

/// <summary>A clock that moves only when told to (1 tick = 100 ns).</summary>
sealed class FakeClock : TimeProvider
{
    long _ticks;
    public DateTimeOffset Start { get; } = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    public void Advance(double seconds) => _ticks += (long)(seconds * TimeSpan.TicksPerSecond);
    public override long GetTimestamp() => _ticks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override DateTimeOffset GetUtcNow() => Start.AddTicks(_ticks);
}

/// <summary>A fake run: info, steps with predictable values, evals, a summary.</summary>
static class ObserverTestData
{
    public static RunInfo Info(long totalSteps = 200, long startStep = 0, string outputDir = "runs/test") => new()
    {
        OutputDir = outputDir,
        ModelName = "stories260K",
        Method = "sft lora",
        TotalParameters = 1_000_000,
        TrainableParameters = 12_345,
        TotalSteps = totalSteps,
        Epochs = 5,
        StartStep = startStep,
        TrainExamples = 800,
        ValidationExamples = 40,
        TrainedTokensPerEpoch = 60_000,
        TokensPerEpoch = 100_000,
        EstimatedPeakMemoryBytes = 800.0 * 1024 * 1024,
        EstimatedSeconds = 150,
        Notes = ["data: 12 examples truncated to 256 tokens"],
    };

    /// <summary>Step s: epoch s/40, loss 3 - s/100, lr 1e-4 + s*1e-6, grad 1/s.</summary>
    public static StepMetrics Step(long s) =>
        new(s, s / 40.0, 3 - s / 100.0, 1e-4 + s * 1e-6, 1.0 / s, 300, 500, 0.5, 1000 + s);

    public static EvalMetrics EvalAt(long s, double loss, bool best = true) =>
        new(s, loss, Math.Exp(loss), 0.452, 12_345, best);

    public static RunSummary Summary(long steps = 20) => new()
    {
        Status = "completed",
        Steps = steps,
        FinalLoss = 2.8,
        BestEvalLoss = 2.5,
        BestStep = 10,
        TrainedTokens = 6_000,
        WallSeconds = 192,
        PeakMemoryBytes = 1024.0 * 1024 * 1024,
        EstimatedPeakMemoryBytes = 800.0 * 1024 * 1024,
        EstimatedSeconds = 150,
        EvalLossBefore = 3.1,
        EvalLossAfter = 2.5,
        Samples = [("Once upon a time", "the the the", "there was a cat\nwho")],
    };
}
