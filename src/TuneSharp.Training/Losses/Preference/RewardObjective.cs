using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The reward model loss of one pair micro-batch (<see cref="Setup.PairDataSetup.Collate"/>: P chosen rows, then P
/// rejected rows): one forward over all 2P rows to the scalar scores (<see cref="SequenceScore.Scores"/>, pooled at
/// each row's last non-pad token), the Bradley-Terry loss <see cref="RewardLoss"/> summed over the pairs (the step driver
/// divides by the pairs of the step), plus TRL's centring term when <c>center_rewards_coefficient</c> is set. Metrics:
/// TRL RewardTrainer's <c>accuracy</c> and <c>margin</c> under the preference names TuneSharp uses for every pair method
/// (<c>rewards/accuracies</c>, <c>rewards/margins</c>; a bare <c>accuracy</c> is SFT's token accuracy), the mean
/// chosen and rejected scores (<c>rewards/chosen</c>, <c>rewards/rejected</c>) and TRL's <c>mean_reward</c>.
/// </summary>
public sealed class RewardObjective(RewardSection settings, long padId)
{
    /// <param name="prefix">Metric name prefix: "" for training steps, "eval_" for evaluation.</param>
    public MicroLoss Loss(CausalLM model, TrainBatch b, string prefix = "")
    {
        long p = PairScores.Pairs(b);
        var t = BatchTensors.Of(b, model.LmHeadWeight.device);
        var scores = model.Scores(t.Ids, padId, t.Positions);                                      // [2P] fp32
        var (chosen, rejected) = (scores.narrow(0, 0, p), scores.narrow(0, p, p));                  // [P], [P]
        // TRL: a per-pair margin from the data shifts the target: -log sigma(r_w - r_l - margin).
        var margin = b.PairMargins is { } m ? tensor(m, dtype: ScalarType.Float32, device: scores.device) : null;   // [P]
        var pair = RewardLoss.Compute(chosen, rejected, margin);
        var sum = pair.Losses.sum();
        // TRL: loss += c * mean over pairs of (r_w + r_l)^2; summed over the P pairs here (the driver divides by pairs).
        if (settings.CenterRewardsCoefficient is { } c) sum = sum + c * (chosen + rejected).pow(2).sum();

        var (rc, rr) = (pair.ChosenRewards, pair.RejectedRewards);                                  // detached [P]
        var named = new (string Name, Tensor Sum, long Count)[]
        {
            ("rewards/accuracies", rc.gt(rr).to(ScalarType.Float32).sum(), p),
            ("rewards/margins", (rc - rr).sum(), p),
            ("mean_reward", (rc.sum() + rr.sum()), 2 * p),
            ("rewards/chosen", rc.sum(), p),
            ("rewards/rejected", rr.sum(), p),
        };
        // One copy to the host for all metrics (one device sync per micro-batch).
        var host = stack([.. named.Select(n => n.Sum)]).cpu().data<float>().ToArray();
        var metrics = new MetricSums();
        for (int i = 0; i < named.Length; i++) metrics.Add(prefix + named[i].Name, host[i], named[i].Count);
        return new MicroLoss(sum, metrics);
    }
}
