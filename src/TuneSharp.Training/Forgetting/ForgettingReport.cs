using System.Globalization;
using System.Text;

namespace TuneSharp.Training.Forgetting;

/// <summary>The forgetting report files: <c>forgetting.md</c> (a table of every metric before -> after with its standard
/// error, the change, and the warnings, beside the task's own validation loss) and <c>forgetting.png</c> (the accuracy-like
/// metrics before and after as bars with +/- 1 stderr). Both written atomically.</summary>
public static class ForgettingReport
{
    public static string Markdown(IReadOnlyList<BenchmarkChange> changes, double threshold, IReadOnlyList<string> warnings,
        double? evalLossBefore, double? evalLossAfter)
    {
        static string V(double v, double? se) => F(v) + (se is { } s ? $" ± {F(s)}" : "");
        var b = new StringBuilder();
        b.AppendLine("# Forgetting check").AppendLine();
        b.AppendLine("General benchmarks on the model before training and after it, with the same settings (`eval.benchmarks`).");
        b.AppendLine($"A metric is flagged when it drops by more than {threshold.ToString(CultureInfo.InvariantCulture)} (points for accuracies, " +
                     "relative for perplexities) and by more than two combined standard errors.").AppendLine();
        if (evalLossBefore is not null || evalLossAfter is not null)
            b.AppendLine($"Task gain: validation loss {Opt(evalLossBefore)} -> {Opt(evalLossAfter)}.").AppendLine();
        b.AppendLine("| task | metric | items | before | after | change | |");
        b.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var c in changes)
            b.AppendLine($"| {c.Task} | {c.Metric} | {c.Items} | {V(c.Before, c.BeforeStderr)} | {V(c.After, c.AfterStderr)} | " +
                         $"{(c.After - c.Before >= 0 ? "+" : "")}{F(c.After - c.Before)} | {(c.DroppedBeyond(threshold) ? "**dropped**" : c.Drop > threshold ? "within noise" : "")} |");
        b.AppendLine();
        if (warnings.Count == 0) b.AppendLine("No metric dropped beyond the threshold.");
        foreach (string w in warnings) b.AppendLine($"- {w}");
        return b.ToString();
    }

    /// <summary>Bars of the higher-is-better metrics (accuracies), before and after, with +/- 1 stderr; false when there
    /// is none to draw.</summary>
    public static bool WriteChart(string path, IReadOnlyList<BenchmarkChange> changes)
    {
        var shown = changes.Where(c => c.HigherIsBetter).ToList();
        if (shown.Count == 0) return false;
        using var plot = new ScottPlot.Plot();
        var before = new List<ScottPlot.Bar>();
        var after = new List<ScottPlot.Bar>();
        var ticks = new List<ScottPlot.Tick>();
        for (int i = 0; i < shown.Count; i++)
        {
            var c = shown[i];
            before.Add(new ScottPlot.Bar { Position = 3 * i, Value = c.Before, Error = c.BeforeStderr ?? 0, FillColor = ScottPlot.Colors.SteelBlue });
            after.Add(new ScottPlot.Bar { Position = 3 * i + 1, Value = c.After, Error = c.AfterStderr ?? 0, FillColor = ScottPlot.Colors.Orange });
            ticks.Add(new ScottPlot.Tick(3 * i + 0.5, $"{c.Task}\n{c.Metric.Split(',')[0]}"));
        }
        plot.Add.Bars(before).LegendText = "before";
        plot.Add.Bars(after).LegendText = "after";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Margins(bottom: 0);
        plot.Title("forgetting check: general benchmarks before and after training");
        plot.YLabel("score");
        plot.ShowLegend();
        string tmp = path + ".tmp.png"; // ScottPlot picks the format from the extension
        plot.SavePng(tmp, Math.Max(480, 120 * shown.Count + 160), 420);
        File.Move(tmp, path, overwrite: true);
        return true;
    }

    static string F(double v) => v.ToString(Math.Abs(v) >= 100 ? "F1" : "F4", CultureInfo.InvariantCulture);
    static string Opt(double? v) => v is { } x ? F(x) : "-";
}
