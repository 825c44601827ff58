using TuneSharp.Eval.Tasks;

namespace TuneSharp.Eval.Results;

/// <summary>What a run produced: every task's (and group's) result, the run's settings and its cost.</summary>
public sealed record EvalResults(IReadOnlyList<TaskResult> Tasks, IReadOnlyDictionary<string, object?> Config,
    long ForwardedTokens, long Forwards, TimeSpan Elapsed)
{
    public TaskResult this[string name] => Tasks.FirstOrDefault(t => t.Name == name)
        ?? throw new KeyNotFoundException($"no result for task '{name}'");
}
