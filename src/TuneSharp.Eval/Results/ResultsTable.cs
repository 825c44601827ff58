using System.Globalization;
using System.Text;

namespace TuneSharp.Eval.Results;

/// <summary>The harness's markdown table: Tasks | n-shot | Filter | Metric | Value | ± | Stderr, one row per metric.</summary>
public static class ResultsTable
{
    public static string Render(EvalResults results)
    {
        var rows = new List<string[]> { new[] { "Tasks", "n-shot", "Filter", "Metric", "Value", "", "Stderr" } };
        var subtasks = results.Tasks.SelectMany(t => t.Subtasks).ToHashSet();
        foreach (var t in results.Tasks)
        {
            bool firstRow = true;
            foreach (var (key, value) in t.Metrics)
            {
                var (metric, filter) = Split(key);
                if (metric.EndsWith("_stderr", StringComparison.Ordinal)) continue;
                var stderr = t.Metrics.TryGetValue($"{metric}_stderr,{filter}", out var s) ? Format(s) : "";
                string name = firstRow ? (subtasks.Contains(t.Name) ? " - " + t.Name : t.Name) : "";
                rows.Add([name, firstRow ? t.NumFewshot.ToString(CultureInfo.InvariantCulture) : "", filter, metric, Format(value), "±", stderr]);
                firstRow = false;
            }
        }
        var widths = Enumerable.Range(0, 7).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append('|').AppendJoin('|', rows[i].Select((cell, c) => c is 1 or 4 or 6 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).Append("|\n");
            if (i == 0) sb.Append('|').AppendJoin('|', widths.Select((w, c) => c is 1 or 4 or 6 ? new string('-', Math.Max(1, w - 1)) + ":" : new string('-', Math.Max(1, w)))).Append("|\n");
        }
        return sb.ToString();
    }

    static (string Metric, string Filter) Split(string key)
    {
        int comma = key.IndexOf(',');
        return comma < 0 ? (key, "none") : (key[..comma], key[(comma + 1)..]);
    }

    static string Format(object v) => v is double d ? d.ToString("F4", CultureInfo.InvariantCulture) : v.ToString() ?? "";
}
