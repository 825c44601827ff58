using TuneSharp.Training.Loop;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The metrics a pair objective reports, as sums over its P pairs (<see cref="MetricSums"/> turns them into means over
/// the step): TRL's six common ones plus the objective's own, copied to the host in one transfer.
/// </summary>
public static class PairMetrics
{
    /// <summary>rewards/chosen, rewards/rejected, rewards/accuracies (chosen strictly higher), rewards/margins,
    /// logps/chosen, logps/rejected (the log-probs the loss used: sums or per-token means).</summary>
    public static List<(string Name, Tensor Sum)> Common(PairLoss pair, Tensor chosenLogp, Tensor rejectedLogp) =>
    [
        ("rewards/chosen", pair.ChosenRewards.sum()),
        ("rewards/rejected", pair.RejectedRewards.sum()),
        ("rewards/accuracies", pair.ChosenRewards.gt(pair.RejectedRewards).to(ScalarType.Float32).sum()),
        ("rewards/margins", (pair.ChosenRewards - pair.RejectedRewards).sum()),
        ("logps/chosen", chosenLogp.detach().sum()),
        ("logps/rejected", rejectedLogp.detach().sum()),
    ];

    /// <summary>Every metric named <paramref name="prefix"/> + name, counted over <paramref name="pairs"/> pairs; one copy
    /// to the host for all of them (one device sync per micro-batch, not one per metric).</summary>
    public static MetricSums ToHost(IReadOnlyList<(string Name, Tensor Sum)> named, string prefix, long pairs)
    {
        var host = stack([.. named.Select(n => n.Sum.detach().to(ScalarType.Float32))]).cpu().data<float>().ToArray();
        var metrics = new MetricSums();
        for (int i = 0; i < named.Count; i++) metrics.Add(prefix + named[i].Name, host[i], pairs);
        return metrics;
    }
}
