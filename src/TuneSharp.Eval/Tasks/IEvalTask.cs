namespace TuneSharp.Eval.Tasks;

/// <summary>A benchmark task: runs on a session and returns its results (a group returns its subtasks too).</summary>
public interface IEvalTask
{
    string Name { get; }
    IReadOnlyList<TaskResult> Run(EvalSession session);

    /// <summary>The text of each item the task evaluates (its question or context; a generation task adds the answer; the first
    /// <paramref name="limit"/>), for the contamination check against training data. None by default.</summary>
    IEnumerable<(string Id, string Text)> ItemTexts(int? limit) => [];
}

/// <summary>
/// One task's numbers in lm-evaluation-harness's naming: metric keys "acc,none", "acc_stderr,none",
/// "exact_match,strict-match"; <see cref="Config"/> is the task's resolved definition (prompt, few-shot, metrics).
/// </summary>
public sealed record TaskResult(string Name, IReadOnlyDictionary<string, object> Metrics, int Original, int Effective,
    int NumFewshot, IReadOnlyDictionary<string, object?> Config)
{
    /// <summary>The subtasks when this result aggregates a group (mmlu).</summary>
    public IReadOnlyList<string> Subtasks { get; init; } = [];
    /// <summary>Whether higher is better, per metric name.</summary>
    public IReadOnlyDictionary<string, bool> HigherIsBetter { get; init; } = new Dictionary<string, bool>();
}
