namespace TuneSharp.Training.Forgetting;

/// <summary>One benchmark metric before and after training. <see cref="Drop"/> is how much worse it got: points for a
/// higher-is-better metric (accuracy 0.62 -> 0.55: 0.07), the relative increase for a lower-is-better one (perplexity
/// 20 -> 23: 0.15); negative when it improved.</summary>
public sealed record BenchmarkChange(string Task, string Metric, double Before, double? BeforeStderr, double After, double? AfterStderr,
    bool HigherIsBetter, int Items)
{
    public double Drop => HigherIsBetter ? Before - After : Before == 0 ? 0 : (After - Before) / Math.Abs(Before);

    /// <summary>The change is larger than 2 combined standard errors (in the metric's units), or no stderr is known.</summary>
    public bool BeyondNoise => BeforeStderr is not { } b || AfterStderr is not { } a || Math.Abs(After - Before) > 2 * Math.Sqrt(b * b + a * a);

    /// <summary>Flagged: dropped by more than <paramref name="threshold"/> and by more than the noise of the two scores.</summary>
    public bool DroppedBeyond(double threshold) => Drop > threshold && BeyondNoise;
}

/// <summary>The forgetting check of a run: every metric before -> after, the threshold, the warnings for metrics that
/// dropped beyond it, and where the report was written (null when nothing was compared).</summary>
public sealed record ForgettingSummary(IReadOnlyList<BenchmarkChange> Changes, double Threshold, IReadOnlyList<string> Warnings,
    string? ReportPath, string? ChartPath)
{
    public static IReadOnlyList<BenchmarkChange> Compare(BenchmarkScores before, BenchmarkScores after) =>
    [
        .. after.Scores.Join(before.Scores, a => (a.Task, a.Metric), b => (b.Task, b.Metric),
            (a, b) => new BenchmarkChange(a.Task, a.Metric, b.Value, b.Stderr, a.Value, a.Stderr, a.HigherIsBetter, a.Items)),
    ];

    /// <summary>A warning per metric whose drop exceeds <paramref name="threshold"/> and two combined standard errors
    /// (a 100-item accuracy has a stderr near 0.05: smaller moves are noise, not forgetting).</summary>
    public static IReadOnlyList<string> WarningsFor(IReadOnlyList<BenchmarkChange> changes, double threshold) =>
    [
        .. changes.Where(c => c.DroppedBeyond(threshold)).Select(c =>
            $"warning: {c.Task} {c.Metric} dropped {Fmt(c.Before)} -> {Fmt(c.After)} " +
            (c.HigherIsBetter ? $"({c.Drop:F3} points" : $"(+{c.Drop:P1}") + $", threshold {threshold}): the tuned model lost general skill; " +
            "lower the learning rate or the number of steps, mix general data in, or use LoRA with a smaller rank"),
    ];

    static string Fmt(double v) => v.ToString(Math.Abs(v) >= 100 ? "F1" : "F4", System.Globalization.CultureInfo.InvariantCulture);
}
