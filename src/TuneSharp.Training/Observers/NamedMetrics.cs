using System.Text.RegularExpressions;

namespace TuneSharp.Training.Observers;

/// <summary>
/// Open metrics: a recipe reports any number of named values beside the fixed fields of a step or an evaluation.
/// Names are lower-case paths like TRL's (<c>rewards/accuracies</c>, <c>logps/chosen</c>, <c>kl</c>): letters, digits,
/// <c>_</c>, <c>.</c> and <c>/</c>. They must not collide with a fixed field of the JSONL record.
/// </summary>
public static partial class NamedMetrics
{
    public static IReadOnlyDictionary<string, double> None { get; } = new Dictionary<string, double>();

    /// <summary>The fixed JSONL fields of step and eval records (a named metric may not reuse them).</summary>
    public static IReadOnlySet<string> Reserved { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "type", "time", "step", "epoch", "loss", "lr", "grad_norm", "trained_tokens", "tokens", "step_seconds",
        "tokens_per_s", "ppl", "accuracy", "is_best",
    };

    [GeneratedRegex(@"^[a-z0-9_.]+(/[a-z0-9_.]+)*$")]
    private static partial Regex NameRegex();

    /// <summary>Throws when <paramref name="name"/> is not a valid metric name.</summary>
    public static string Check(string name)
    {
        if (!NameRegex().IsMatch(name))
            throw new ArgumentException($"metric name '{name}' must be lower-case letters, digits, '_', '.' and '/' (e.g. rewards/accuracies)");
        if (Reserved.Contains(name))
            throw new ArgumentException($"metric name '{name}' is a fixed field of the metrics record; choose another name");
        return name;
    }

    /// <summary>A file-name form of a metric name: <c>rewards/accuracies</c> -> <c>rewards_accuracies</c>.</summary>
    public static string FileName(string name) => name.Replace('/', '_');
}
