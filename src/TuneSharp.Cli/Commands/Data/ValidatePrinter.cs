using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Data;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>Prints a <see cref="DataReport"/> as aligned text (problems first, then statistics) or as JSON.</summary>
public static class ValidatePrinter
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void WriteText(DataReport report, TextWriter w, Style style)
    {
        var v = report.Validation;
        string formats = v.Formats.Count == 0 ? "" : $" ({string.Join(", ", v.Formats.Select(f => $"{FormatName(f.Key)} {N(f.Value)}"))})";
        Row(w, "dataset", v.Path);
        Row(w, "examples", N(v.ExampleCount) + formats);
        Row(w, "turns", N(v.Turns));
        Row(w, "characters", N(v.Characters));
        Row(w, "problems", report.TotalProblems == 0 ? style.Green("0") : style.Red(N(report.TotalProblems)));
        WriteProblems(report, w, style);

        if (report.Tokens is { } t)
        {
            w.WriteLine();
            w.WriteLine(style.Bold("tokens") + style.Dim($"  model {t.Model}, template {t.Template}, train on {DataInputs.Name(t.TrainOn)}, max_seq_len {t.MaxSeqLen}"));
            Row(w, "prompt", N(t.PromptTokens), "untrained: system, user, role headers");
            Row(w, "trained", N(t.TrainedTokens), "carry the loss");
            Row(w, "per epoch", N(t.EpochTokens), $"{N(t.Kept)} samples");
            Row(w, "truncated", N(t.Truncated), $"longer than max_seq_len {t.MaxSeqLen}; the tail is cut");
            Row(w, "dropped", N(t.Dropped), "no trained token left");
            foreach (string reason in t.DropReasons) w.WriteLine("    " + style.Dim(reason));
            if (t.Pairs is { } p)
            {
                Row(w, "pairs", N(p.Pairs), "as method.stage dpo / orpo / simpo encode them (one shared prompt)");
                Row(w, "prompt cut", N(p.PromptTruncated), $"prompt + longer answer > max_seq_len {t.MaxSeqLen}: the prompt is cut first");
                Row(w, "answers cut", N(p.AnswersTruncated), $"still too long with the prompt at half of max_seq_len: both answers cut at their end");
                Row(w, "refused", N(p.Refused), "pairs training would refuse (see the problems)");
            }
            WriteHistogram(w, style, "tokens, before truncation", t.MinLength, t.MeanLength, t.MaxLength, t.Histogram);
            w.WriteLine();
            w.WriteLine(style.Bold("padding efficiency") + style.Dim($"  micro batch {t.MicroBatch}; real tokens / batch cells"));
            Row(w, "padded", Padding(t.Padded), "one example per row, dataset order");
            Row(w, "packed", Padding(t.Packed), $"rows of {t.MaxSeqLen} tokens");
        }
        else
        {
            WriteHistogram(w, style, v.LengthUnit, v.MinLength, v.MeanLength, v.MaxLength, v.Histogram);
            if (v.ExampleCount > 0)
                w.WriteLine(style.Dim("(pass --model <folder|hub id> for token counts, truncation and padding efficiency)"));
        }
        if (report.NothingToTrain is { } why)
        {
            w.WriteLine();
            w.WriteLine(style.Red($"not trainable: {why}"));
        }
    }

    static void WriteProblems(DataReport report, TextWriter w, Style style)
    {
        if (report.TotalProblems == 0) return;
        w.WriteLine();
        w.WriteLine(style.Bold("problems") + style.Dim("  " + string.Join(", ", report.ProblemCounts.OrderByDescending(c => c.Value)
            .ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {N(c.Value)}"))));
        var rows = report.Problems.Select(p => (Where: Where(p), p.Code, Field: p.Field ?? "-", Text: $"{p.Message}. {p.Hint}")).ToList();
        int wWhere = rows.Max(r => r.Where.Length), wCode = rows.Max(r => r.Code.Length), wField = rows.Max(r => r.Field.Length);
        foreach (var r in rows)
            w.WriteLine($"  {r.Where.PadRight(wWhere)}  {style.Red(r.Code.PadRight(wCode))}  {r.Field.PadRight(wField)}  {r.Text}");
        long more = report.TotalProblems - report.Problems.Count;
        if (more > 0) w.WriteLine(style.Yellow($"  ... and {N(more)} more (raise --max-problems to list them)"));
    }

    static void WriteHistogram(TextWriter w, Style style, string unit, long min, double mean, long max, IReadOnlyList<HistogramBin> bins)
    {
        if (bins.Count == 0) return;
        w.WriteLine();
        w.WriteLine(style.Bold("length") + style.Dim($"  {unit}: min {N(min)}, mean {mean.ToString("F1", Inv)}, max {N(max)}"));
        long peak = bins.Max(b => b.Count);
        int wCount = bins.Max(b => N(b.Count).Length);
        foreach (var b in bins)
        {
            string bar = new('#', b.Count == 0 ? 0 : (int)Math.Ceiling(40.0 * b.Count / peak));
            w.WriteLine($"  <= {N(b.UpperBound),7}  {N(b.Count).PadLeft(wCount)}  {style.Green(bar)}");
        }
    }

    static string Padding(PaddingSummary p) => p.Efficiency is { } e
        ? $"{e.ToString("P1", Inv).Replace(" ", "", StringComparison.Ordinal),6}  {N(p.Batches)} batches, {N(p.Cells)} cells"
        : $"{"-",6}  no batch (no sample left)";

    static void Row(TextWriter w, string label, string value, string? note = null) =>
        w.WriteLine(note is null ? $"  {label,-11} {value}" : $"  {label,-11} {value,10}  {note}");

    static string Where(DataProblem p) => p.TextLine is long l ? $"{p.Location.File}:{l} (record {p.Location.Line})" : p.Location.ToString();

    static string N(long n) => n.ToString("N0", Inv);

    static string FormatName(DataFormat f) => f.ToString().ToLowerInvariant();

    /// <summary>The machine-readable report (snake_case keys; documented in docs/cli/data.md).</summary>
    public static void WriteJson(DataReport report, TextWriter w)
    {
        var v = report.Validation;
        var root = new JsonObject
        {
            ["path"] = v.Path,
            ["valid"] = report.IsValid,
            ["nothing_to_train"] = report.NothingToTrain,
            ["examples"] = v.ExampleCount,
            ["formats"] = new JsonObject(v.Formats.Select(f => KeyValuePair.Create(FormatName(f.Key), (JsonNode?)f.Value))),
            ["turns"] = v.Turns,
            ["characters"] = v.Characters,
            ["problems_total"] = report.TotalProblems,
            ["problem_counts"] = new JsonObject(report.ProblemCounts.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
            ["problems"] = new JsonArray([.. report.Problems.Select(p => (JsonNode)new JsonObject
            {
                ["file"] = p.Location.File,
                ["line"] = p.TextLine ?? p.Location.Line,
                ["record"] = p.TextLine is null ? null : p.Location.Line,
                ["code"] = p.Code,
                ["field"] = p.Field,
                ["message"] = p.Message,
                ["hint"] = p.Hint,
            })]),
            ["length"] = Length(v.LengthUnit, v.MinLength, v.MeanLength, v.MaxLength, v.Histogram),
            ["tokens"] = report.Tokens is { } t ? new JsonObject
            {
                ["model"] = t.Model,
                ["template"] = t.Template,
                ["train_on"] = DataInputs.Name(t.TrainOn),
                ["max_seq_len"] = t.MaxSeqLen,
                ["micro_batch"] = t.MicroBatch,
                ["samples"] = t.Kept,
                ["truncated"] = t.Truncated,
                ["dropped"] = t.Dropped,
                ["pairs"] = t.Pairs is { } p ? new JsonObject
                {
                    ["pairs"] = p.Pairs,
                    ["prompt_truncated"] = p.PromptTruncated,
                    ["answers_truncated"] = p.AnswersTruncated,
                    ["refused"] = p.Refused,
                } : null,
                ["failed"] = t.Failed,
                ["prompt_tokens"] = t.PromptTokens,
                ["trained_tokens"] = t.TrainedTokens,
                ["epoch_tokens"] = t.EpochTokens,
                ["length"] = Length("tokens", t.MinLength, t.MeanLength, t.MaxLength, t.Histogram),
                ["padded"] = PaddingJson(t.Padded),
                ["packed"] = PaddingJson(t.Packed),
            } : null,
        };
        w.WriteLine(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    static JsonObject Length(string unit, long min, double mean, long max, IReadOnlyList<HistogramBin> bins) => new()
    {
        ["unit"] = unit,
        ["min"] = min,
        ["mean"] = Math.Round(mean, 3),
        ["max"] = max,
        ["histogram"] = new JsonArray([.. bins.Select(b => (JsonNode)new JsonObject { ["le"] = b.UpperBound, ["count"] = b.Count })]),
    };

    static JsonObject PaddingJson(PaddingSummary p) => new()
    {
        ["batches"] = p.Batches,
        ["cells"] = p.Cells,
        ["efficiency"] = p.Efficiency is { } e ? Math.Round(e, 6) : null,
    };
}
