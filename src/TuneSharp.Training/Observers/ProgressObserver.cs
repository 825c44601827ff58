using System.Text;
using TuneSharp.Training.Config;

namespace TuneSharp.Training.Observers;

/// <summary>
/// Console progress: a start banner, then either a live single line redrawn in place (<see cref="ProgressMode.Bar"/>,
/// for terminals) or plain log lines every <c>plainEvery</c> steps (<see cref="ProgressMode.Plain"/>, for logs and CI),
/// eval and checkpoint lines, and an end summary. <see cref="ProgressMode.Auto"/> picks Bar on a terminal, Plain
/// otherwise; <see cref="ProgressMode.None"/> prints nothing.
/// </summary>
public sealed class ProgressObserver : ITrainingObserver
{
    const string ClearLine = "\r\u001b[2K";
    const int BarWidth = 20;

    readonly TextWriter _out;
    readonly int _plainEvery;
    readonly TimeProvider _clock;
    RunInfo? _info;
    long _startTimestamp;
    StepMetrics? _last;
    bool _lineShown;     // a live line is on screen (bar mode) and must be cleared before other output

    /// <param name="output">Where to write (usually <see cref="Console.Out"/>).</param>
    /// <param name="mode">Display mode; Auto resolves with <paramref name="isTerminal"/>.</param>
    /// <param name="plainEvery">Plain mode: log every this many steps (and the first and last step).</param>
    /// <param name="isTerminal">Whether <paramref name="output"/> is an interactive terminal; null = it is the
    /// console's stdout, stdout is not redirected and TERM is not "dumb".</param>
    /// <param name="clock">Time source for elapsed/ETA (tests pass a fake one).</param>
    public ProgressObserver(TextWriter output, ProgressMode mode = ProgressMode.Auto, int plainEvery = 10,
        bool? isTerminal = null, TimeProvider? clock = null)
    {
        if (plainEvery <= 0) throw new ArgumentOutOfRangeException(nameof(plainEvery), $"progress: plainEvery must be > 0, got {plainEvery}");
        _out = output;
        _plainEvery = plainEvery;
        _clock = clock ?? TimeProvider.System;
        Mode = mode == ProgressMode.Auto ? ((isTerminal ?? DetectTerminal(output)) ? ProgressMode.Bar : ProgressMode.Plain) : mode;
    }

    /// <summary>The resolved mode (never Auto).</summary>
    public ProgressMode Mode { get; }

    static bool DetectTerminal(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected
        && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    double Elapsed => _clock.GetElapsedTime(_startTimestamp).TotalSeconds;

    public void OnStart(RunInfo info)
    {
        _info = info;
        _startTimestamp = _clock.GetTimestamp();
        if (Mode == ProgressMode.None) return;
        WriteLines(Banner(info));
    }

    /// <summary>The start banner: model, method, parameters, data, schedule, estimates, notes.</summary>
    public static IReadOnlyList<string> Banner(RunInfo info)
    {
        double pct = info.TotalParameters > 0 ? 100.0 * info.TrainableParameters / info.TotalParameters : 0;
        var lines = new List<string>
        {
            $"TuneSharp | {info.Method} | {info.ModelName}",
            $"  parameters  {Fmt.Count(info.TotalParameters)} total | {Fmt.Count(info.TrainableParameters)} trainable ({Fmt.Fixed(pct, pct < 1 ? "0.000" : "0.00")}%)",
            $"  data        {Fmt.Count(info.TrainExamples)} train / {Fmt.Count(info.ValidationExamples)} validation examples | "
                + $"{Fmt.Count(info.TokensPerEpoch)} tokens/epoch ({Fmt.Count(info.TrainedTokensPerEpoch)} trained)",
            $"  schedule    {Fmt.Count(info.TotalSteps)} steps, {info.Epochs} epoch{(info.Epochs == 1 ? "" : "s")}"
                + (info.StartStep > 0 ? $" (resuming at step {Fmt.Count(info.StartStep)})" : ""),
        };
        if (info.EstimatedPeakMemoryBytes is not null || info.EstimatedSeconds is not null)
            lines.Add("  estimates   "
                + string.Join(" | ", new[]
                {
                    info.EstimatedPeakMemoryBytes is { } m ? $"peak memory {Fmt.Bytes(m)}" : null,
                    info.EstimatedSeconds is { } s ? $"time {Fmt.Duration(s)}" : null,
                }.OfType<string>()));
        lines.Add($"  output      {info.OutputDir}");
        lines.AddRange(info.Notes.Select(n => $"  {n}"));
        return lines;
    }

    public void OnStep(StepMetrics m)
    {
        _last = m;
        if (Mode == ProgressMode.Bar)
        {
            _out.Write(ClearLine + LiveLine(m));
            _out.Flush();
            _lineShown = true;
        }
        else if (Mode == ProgressMode.Plain)
        {
            long total = _info?.TotalSteps ?? 0;
            long first = (_info?.StartStep ?? 0) + 1;
            if (m.Step % _plainEvery == 0 || m.Step == first || m.Step == total) WriteLines([PlainLine(m)]);
        }
    }

    /// <summary>Seconds left, from the mean step time of this run (steps since the start step).</summary>
    double? Eta(long step)
    {
        if (_info is null) return null;
        long done = step - _info.StartStep, left = _info.TotalSteps - step;
        return done > 0 ? Elapsed / done * Math.Max(0, left) : null;
    }

    string StepOfTotal(long step) => $"step {step}/{_info?.TotalSteps.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}";

    /// <summary>The plain log line: <c>step 10/200 | epoch 0.25 | loss 2.3412 | lr 1.2e-04 | grad 0.83 | 1234 tok/s | eta 3m12s</c>.</summary>
    public string PlainLine(StepMetrics m) =>
        $"{StepOfTotal(m.Step)} | epoch {Fmt.Fixed(m.Epoch, "0.00")} | loss {Fmt.Loss(m.Loss)}{Named(m.Metrics)} | lr {Fmt.Lr(m.LearningRate)} | "
        + $"grad {Fmt.Fixed(m.GradNorm, "0.00")} | {Fmt.Fixed(m.TokensPerSecond, "0")} tok/s | eta {(Eta(m.Step) is { } e ? Fmt.Duration(e) : "?")}";

    /// <summary>Named metrics in name order: <c> | rewards/accuracies 0.7500 | kl 0.0123</c>.</summary>
    static string Named(IReadOnlyDictionary<string, double> metrics) =>
        string.Concat(metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $" | {kv.Key} {Fmt.Loss(kv.Value)}"));

    /// <summary>The live line: a bar, then the same fields as the plain line plus the elapsed time.</summary>
    public string LiveLine(StepMetrics m)
    {
        long total = _info?.TotalSteps ?? 0;
        int filled = total > 0 ? (int)Math.Clamp(BarWidth * m.Step / total, 0, BarWidth) : 0;
        var bar = new StringBuilder().Append('[').Append('#', filled).Append('.', BarWidth - filled).Append(']');
        return $"{bar} {PlainLine(m)} | {Fmt.Duration(Elapsed)}";
    }

    public void OnEval(EvalMetrics e)
    {
        if (Mode == ProgressMode.None) return;
        WriteLines([EvalLine(e)]);
    }

    /// <summary><c>eval step 50 | loss 2.1034 | ppl 8.19 | acc 45.20% | 12,345 tokens | best</c>; step 0 is the baseline
    /// before training (<c>eval before training | loss ...</c>). Recipes whose loss is not next-token (DPO) report no
    /// perplexity or token accuracy (NaN): those fields are left out.</summary>
    public static string EvalLine(EvalMetrics e) =>
        $"eval {(e.Step == 0 ? "before training" : $"step {e.Step}")} | loss {Fmt.Loss(e.Loss)}"
        + (double.IsNaN(e.Perplexity) ? "" : $" | ppl {Fmt.Fixed(e.Perplexity, "0.00")}")
        + (double.IsNaN(e.TokenAccuracy) ? "" : $" | acc {Fmt.Fixed(100 * e.TokenAccuracy, "0.00")}%")
        + $"{Named(e.Metrics)} | {Fmt.Count(e.Tokens)} tokens{(e.IsBest ? " | best" : "")}";

    /// <summary>Sample answers as they are generated: before training (step 0) and at the end.</summary>
    public void OnSamples(SampleSet set)
    {
        if (Mode == ProgressMode.None) return;
        string when = set.Step == 0 ? "before training" : $"at step {set.Step}";
        WriteLines([.. set.Samples.SelectMany(s => new[] { $"sample {when}: {OneLine(s.Prompt)}", $"  -> {OneLine(s.Answer)}" })]);
    }

    public void OnCheckpoint(long step, string path)
    {
        if (Mode == ProgressMode.None) return;
        WriteLines([$"checkpoint step {step} -> {path}"]);
    }

    public void OnEnd(RunSummary summary)
    {
        if (Mode == ProgressMode.None) return;
        if (_lineShown) _out.WriteLine(); // keep the last live line on screen above the summary
        _lineShown = false;
        WriteLines(SummaryTable(summary));
    }

    /// <summary>Benchmark metrics listed in the end summary (forgetting.md has all of them).</summary>
    const int ShownBenchmarks = 12;

    /// <summary>The end summary: status, losses, tokens, time and memory against the estimates, samples.</summary>
    public static IReadOnlyList<string> SummaryTable(RunSummary s)
    {
        static string Opt(double? v) => v is { } x ? Fmt.Loss(x) : "-";
        var lines = new List<string>
        {
            $"run {s.Status.Replace('_', ' ')} after {Fmt.Count(s.Steps)} steps",
            $"  final loss   {Opt(s.FinalLoss)}",
            $"  best eval    {Opt(s.BestEvalLoss)}{(s.BestStep is { } b ? $" (step {b})" : "")}",
        };
        if (s.EvalLossBefore is not null || s.EvalLossAfter is not null)
            lines.Add($"  eval loss    before {Opt(s.EvalLossBefore)} -> after {Opt(s.EvalLossAfter)}");
        lines.Add($"  tokens       {Fmt.Count(s.TrainedTokens)} trained");
        lines.Add($"  wall time    {Fmt.Duration(s.WallSeconds)}"
            + (s.EstimatedSeconds is { } es ? $" (estimate {Fmt.Duration(es)}, {Fmt.Delta(s.WallSeconds, es)})" : ""));
        lines.Add($"  peak memory  {Fmt.Bytes(s.PeakMemoryBytes)}"
            + (s.EstimatedPeakMemoryBytes is { } em ? $" (estimate {Fmt.Bytes(em)}, {Fmt.Delta(s.PeakMemoryBytes, em)})" : ""));
        if (s.Forgetting is { } f)
        {
            // Flagged metrics first, then the others up to a screenful (mmlu alone has 57 subjects); all are in the report.
            var shown = f.Changes.OrderByDescending(c => c.DroppedBeyond(f.Threshold)).Take(ShownBenchmarks).ToList();
            foreach (var c in shown)
                lines.Add($"  benchmark    {c.Task} {c.Metric.Split(',')[0]} {Fmt.Loss(c.Before)} -> {Fmt.Loss(c.After)}"
                    + (c.AfterStderr is { } se ? $" (stderr {Fmt.Loss(se)})" : "") + (c.DroppedBeyond(f.Threshold) ? "  DROPPED" : ""));
            if (f.Changes.Count > shown.Count) lines.Add($"  benchmark    ... and {f.Changes.Count - shown.Count} more metrics in the report");
            foreach (string w in f.Warnings) lines.Add($"  {w}");
            if (f.ReportPath is { } r) lines.Add($"  forgetting   {r}");
        }
        foreach (var (prompt, before, after) in s.Samples)
        {
            lines.Add($"  sample       {OneLine(prompt)}");
            lines.Add($"    before: {OneLine(before)}");
            lines.Add($"    after:  {OneLine(after)}");
        }
        return lines;
    }

    static string OneLine(string text) => text.ReplaceLineEndings(" \u21b5 ");

    // Clears the live line, writes the lines, and redraws the live line under them (bar mode).
    void WriteLines(IReadOnlyList<string> lines)
    {
        if (_lineShown) _out.Write(ClearLine);
        foreach (var line in lines) _out.WriteLine(line);
        if (_lineShown && _last is not null && Mode == ProgressMode.Bar) _out.Write(LiveLine(_last));
        _out.Flush();
    }

    public void Dispose()
    {
        if (_lineShown) _out.WriteLine();
        _lineShown = false;
        _out.Flush();
    }
}
