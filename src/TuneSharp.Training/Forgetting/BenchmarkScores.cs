using System.Text.Json;
using System.Text.Json.Serialization;
using TuneSharp.Core.IO;
using TuneSharp.Eval.Results;

namespace TuneSharp.Training.Forgetting;

/// <summary>One benchmark metric of one model: value, its standard error (null when the task has none) and direction.</summary>
public sealed record BenchmarkScore(string Task, string Metric, double Value, double? Stderr, bool HigherIsBetter, int Items);

/// <summary>
/// The benchmark scores of a model at one moment (before or after training), with the settings that produced them, as
/// stored in the run folder (<c>benchmarks_before.json</c>, <c>benchmarks_after.json</c>) so a resumed run compares
/// against the scores of the untouched model.
/// </summary>
public sealed record BenchmarkScores(IReadOnlyList<string> Tasks, int? Limit, IReadOnlyList<BenchmarkScore> Scores)
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Every numeric metric of every task (lm-evaluation-harness keys such as <c>acc,none</c>; the matching
    /// <c>acc_stderr,none</c> becomes its standard error).</summary>
    public static BenchmarkScores From(EvalResults results, IReadOnlyList<string> tasks, int? limit)
    {
        var scores = new List<BenchmarkScore>();
        foreach (var task in results.Tasks)
            foreach (var (key, value) in task.Metrics)
            {
                if (key.Contains("_stderr", StringComparison.Ordinal) || Number(value) is not { } v) continue;
                string metric = key.Split(',')[0], filter = key.Contains(',') ? key[(key.IndexOf(',') + 1)..] : "";
                string stderrKey = metric + "_stderr" + (filter.Length > 0 ? "," + filter : "");
                double? stderr = task.Metrics.TryGetValue(stderrKey, out var s) ? Number(s) : null;
                bool higher = task.HigherIsBetter.TryGetValue(metric, out var h) ? h : !metric.Contains("perplexity", StringComparison.Ordinal);
                scores.Add(new BenchmarkScore(task.Name, key, v, stderr, higher, task.Effective));
            }
        return new BenchmarkScores(tasks, limit, scores);
    }

    static double? Number(object? value) => value switch
    {
        double d when double.IsFinite(d) => d,
        float f when float.IsFinite(f) => f,
        int i => i,
        long l => l,
        _ => null,
    };

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>The stored scores, or null when the file is missing; a damaged file is an error naming it.</summary>
    public static BenchmarkScores? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<BenchmarkScores>(File.ReadAllText(path), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a benchmark scores file ({e.Message}); delete it to measure again", e); }
    }

    public bool SameSettings(BenchmarkScores other) => Tasks.SequenceEqual(other.Tasks) && Limit == other.Limit;
}
