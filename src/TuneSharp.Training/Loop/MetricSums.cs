using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Loop;

/// <summary>
/// Named metrics of one step or evaluation, accumulated as (sum, count) over micro-batches so that the reported value
/// is the mean over everything the step saw (e.g. <c>rewards/accuracies</c> = correct pairs / pairs), whatever the
/// micro-batch split.
/// </summary>
public sealed class MetricSums
{
    readonly SortedDictionary<string, (double Sum, double Count)> _values = new(StringComparer.Ordinal);

    public void Add(string name, double sum, double count)
    {
        NamedMetrics.Check(name);
        var (s, c) = _values.GetValueOrDefault(name);
        _values[name] = (s + sum, c + count);
    }

    public void Add(MetricSums other)
    {
        foreach (var (name, (sum, count)) in other._values) Add(name, sum, count);
    }

    /// <summary>name -> sum / count (names with count 0 are left out).</summary>
    public IReadOnlyDictionary<string, double> Means() =>
        _values.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.Count, StringComparer.Ordinal);
}
