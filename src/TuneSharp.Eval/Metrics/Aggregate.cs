namespace TuneSharp.Eval.Metrics;

/// <summary>lm-evaluation-harness's aggregations and standard errors.</summary>
public static class Aggregate
{
    public static double Mean(IReadOnlyList<double> values) =>
        values.Count == 0 ? throw new ArgumentException("no values to average") : values.Sum() / values.Count;

    /// <summary>
    /// Standard error of the mean with the sample standard deviation (ddof = 1): sqrt(sum((x - mean)^2) / (n - 1)) / sqrt(n),
    /// as the harness's <c>mean_stderr</c>. Null for fewer than two values (the harness writes "N/A").
    /// </summary>
    public static double? MeanStderr(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return null;
        double mean = Mean(values);
        double ss = values.Sum(x => (x - mean) * (x - mean));
        return Math.Sqrt(ss / (values.Count - 1)) / Math.Sqrt(values.Count);
    }

    /// <summary>A group's mean weighted by subtask size (the harness's <c>weight_by_size</c>).</summary>
    public static double WeightedMean(IReadOnlyList<double> means, IReadOnlyList<int> sizes) =>
        means.Zip(sizes).Sum(p => p.First * p.Second) / sizes.Sum();

    /// <summary>
    /// The harness's <c>pooled_sample_stderr</c> of a group: the subtasks' sample variances (recovered from their
    /// stderrs) pooled with n - 1 weights, over the total size.
    /// </summary>
    public static double? PooledStderr(IReadOnlyList<double?> stderrs, IReadOnlyList<int> sizes)
    {
        if (stderrs.Any(s => s is null) || sizes.Sum() - sizes.Count <= 0) return null;
        double pooledVar = stderrs.Zip(sizes).Sum(p => (p.Second - 1) * p.First!.Value * p.First.Value * p.Second)
            / (sizes.Sum() - sizes.Count);
        return Math.Sqrt(pooledVar / sizes.Sum());
    }
}

/// <summary>Builds a result's metric dictionary in the harness's key order: "name,filter" then "name_stderr,filter".</summary>
public sealed class MetricTable
{
    readonly Dictionary<string, object> _values = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, object> Values => _values;

    /// <summary>Adds the mean of per-item <paramref name="scores"/> and its standard error.</summary>
    public MetricTable AddMean(string metric, IReadOnlyList<double> scores, string filter = "none") =>
        Add(metric, Aggregate.Mean(scores), Aggregate.MeanStderr(scores), filter);

    public MetricTable Add(string metric, double value, double? stderr, string filter = "none")
    {
        _values[$"{metric},{filter}"] = value;
        _values[$"{metric}_stderr,{filter}"] = stderr is { } s ? s : "N/A";
        return this;
    }
}
