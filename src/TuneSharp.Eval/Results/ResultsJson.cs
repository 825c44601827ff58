using System.Collections;
using System.Text.Json;
using TuneSharp.Core.IO;

namespace TuneSharp.Eval.Results;

/// <summary>
/// The results file in lm-evaluation-harness's shape: <c>results[task]["acc,none"]</c> with "acc_stderr,none" beside it,
/// <c>groups</c> and <c>group_subtasks</c> for mmlu, <c>configs</c> (each task's resolved definition), <c>n-shot</c>,
/// <c>higher_is_better</c>, <c>n-samples</c> (original and effective counts), <c>config</c> (the run) and the time;
/// TuneSharp adds <c>efficiency</c> (forwarded tokens and forwards). Written atomically.
/// </summary>
public static class ResultsJson
{
    public static void Write(string path, EvalResults results) =>
        AtomicFile.WriteAllText(path, Serialize(results));

    public static string Serialize(EvalResults r)
    {
        var subtaskOf = r.Tasks.SelectMany(t => t.Subtasks.Select(s => (s, t.Name))).ToDictionary(p => p.s, p => p.Name);
        var doc = new Dictionary<string, object?>
        {
            ["results"] = r.Tasks.ToDictionary(t => t.Name, t => Entry(t, subtaskOf)),
            ["groups"] = r.Tasks.Where(t => t.Subtasks.Count > 0).ToDictionary(t => t.Name, t => Entry(t, subtaskOf)),
            ["group_subtasks"] = r.Tasks.Where(t => t.Subtasks.Count > 0).ToDictionary(t => t.Name, t => (object?)t.Subtasks),
            ["configs"] = r.Tasks.Where(t => t.Subtasks.Count == 0).ToDictionary(t => t.Name, t => (object?)t.Config),
            ["versions"] = r.Tasks.ToDictionary(t => t.Name, _ => (object?)1.0),
            ["n-shot"] = r.Tasks.ToDictionary(t => t.Name, t => (object?)t.NumFewshot),
            ["higher_is_better"] = r.Tasks.ToDictionary(t => t.Name, t => (object?)t.HigherIsBetter),
            ["n-samples"] = r.Tasks.Where(t => t.Subtasks.Count == 0).ToDictionary(t => t.Name,
                t => (object?)new Dictionary<string, object?> { ["original"] = t.Original, ["effective"] = t.Effective }),
            ["config"] = r.Config,
            ["efficiency"] = new Dictionary<string, object?> { ["forwarded_tokens"] = r.ForwardedTokens, ["forwards"] = r.Forwards },
            ["total_evaluation_time_seconds"] = r.Elapsed.TotalSeconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture),
        };
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            WriteValue(w, doc);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    static object? Entry(Tasks.TaskResult t, Dictionary<string, string> subtaskOf)
    {
        var e = new Dictionary<string, object?> { ["alias"] = subtaskOf.ContainsKey(t.Name) ? " - " + t.Name : t.Name };
        foreach (var (k, v) in t.Metrics) e[k] = v;
        return e;
    }

    static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case double d: w.WriteStringValue(d.ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
            case IDictionary dict:
                w.WriteStartObject();
                foreach (DictionaryEntry kv in dict)
                {
                    w.WritePropertyName(kv.Key.ToString()!);
                    WriteValue(w, kv.Value);
                }
                w.WriteEndObject();
                break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                w.WriteStartObject();
                foreach (var (k, v) in pairs) { w.WritePropertyName(k); WriteValue(w, v); }
                w.WriteEndObject();
                break;
            case IEnumerable<KeyValuePair<string, bool>> flags:
                w.WriteStartObject();
                foreach (var (k, v) in flags) { w.WritePropertyName(k); w.WriteBooleanValue(v); }
                w.WriteEndObject();
                break;
            case IEnumerable seq:
                w.WriteStartArray();
                foreach (var x in seq) WriteValue(w, x);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(value.ToString()); break;
        }
    }
}
