using System.Text.Json;

namespace TuneSharp.Training.Observers;

/// <summary>One step or eval line of metrics.jsonl: the plotted values by name (loss, lr and the named metrics).</summary>
public sealed record MetricsRecord(string Type, long Step, IReadOnlyDictionary<string, double> Values);

/// <summary>Reads metrics.jsonl back (plots of a resumed run, tests). Torn or foreign lines are skipped.</summary>
public static class MetricsFile
{
    /// <summary>Fixed fields that are not plotted (counts, timings).</summary>
    static readonly HashSet<string> NotPlotted = new(StringComparer.Ordinal)
    {
        "type", "time", "step", "epoch", "grad_norm", "trained_tokens", "tokens", "step_seconds", "tokens_per_s", "ppl",
        "accuracy", "is_best",
    };

    public static IEnumerable<MetricsRecord> Read(string path)
    {
        if (!File.Exists(path)) yield break;
        foreach (var line in File.ReadLines(path))
        {
            if (Parse(line) is { } record) yield return record;
        }
    }

    static MetricsRecord? Parse(string line)
    {
        if (line.Length == 0) return null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) ||
                type.GetString() is not ("step" or "eval") || !root.TryGetProperty("step", out var step) || step.ValueKind != JsonValueKind.Number)
                return null;
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
                if (!NotPlotted.Contains(p.Name) && p.Value.ValueKind == JsonValueKind.Number) values[p.Name] = p.Value.GetDouble();
            return new MetricsRecord(type.GetString()!, step.GetInt64(), values);
        }
        catch (JsonException) { return null; }
    }
}
