using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The DPO loss of one pair micro-batch (<see cref="Setup.PairDataSetup.Collate"/>: P chosen rows, then P rejected
/// rows): one policy forward over all 2P rows, one reference forward of the same model with its adapters disabled and
/// without gradients, per-sequence log-probs of the completions, <see cref="DpoLoss"/> summed over the pairs (the step
/// driver divides by the pairs of the step), plus the RPO term when <c>rpo_alpha</c> is set. Metrics are TRL's.
/// </summary>
public sealed class DpoObjective(DpoSection settings)
{
    /// <summary>Units of a pair micro-batch: its pairs.</summary>
    public static long Pairs(TrainBatch b) => b.Rows / 2;

    /// <param name="prefix">Metric name prefix: "" for training steps, "eval_" for evaluation.</param>
    public MicroLoss Loss(CausalLM model, TrainBatch b, string prefix = "")
    {
        long p = Pairs(b);
        var t = BatchTensors.Of(b, model.LmHeadWeight.device);
        SequenceScores reference;
        using (no_grad())
        using (model.AdaptersDisabled())
            reference = LogProbs(model, t);
        var policy = LogProbs(model, t);
        // IPO is defined on per-token mean log-probs (as TRL); the other losses on sums.
        bool mean = settings.LossType == DpoLossType.Ipo;
        var (pc, pr) = Sides(policy, p, mean);                                      // [P], [P]
        var (rc, rr) = Sides(reference, p, mean);                                   // [P], [P]
        var pair = DpoLoss.Compute(settings.LossType, pc, pr, rc, rr, settings.Beta, settings.LabelSmoothing);
        var sum = pair.Losses.sum();

        var named = new List<(string Name, Tensor Sum)>
        {
            ("rewards/chosen", pair.ChosenRewards.sum()),
            ("rewards/rejected", pair.RejectedRewards.sum()),
            ("rewards/accuracies", pair.ChosenRewards.gt(pair.RejectedRewards).to(ScalarType.Float32).sum()),
            ("rewards/margins", (pair.ChosenRewards - pair.RejectedRewards).sum()),
            ("logps/chosen", pc.detach().sum()),
            ("logps/rejected", pr.detach().sum()),
        };
        if (settings.RpoAlpha is { } alpha)
        {
            // TRL: loss = mean over pairs of the DPO loss + alpha x NLL of the batch's chosen tokens (mean per token);
            // summed over the P pairs here, so alpha x NLL counts once per pair.
            var nll = -policy.LogProbSum.narrow(0, 0, p).sum() / policy.TokenCount.narrow(0, 0, p).sum().clamp_min(1).to(ScalarType.Float32);
            sum = sum + alpha * p * nll;
            named.Add(("nll_loss", nll.detach() * p));
        }
        // One copy to the host for all metrics (one device sync per micro-batch, not one per metric).
        var host = stack([.. named.Select(n => n.Sum.to(ScalarType.Float32))]).cpu().data<float>().ToArray();
        var metrics = new MetricSums();
        for (int i = 0; i < named.Count; i++) metrics.Add(prefix + named[i].Name, host[i], p);
        return new MicroLoss(sum, metrics);
    }

    static SequenceScores LogProbs(CausalLM model, BatchTensors t) =>
        SequenceLogProbs.Compute(model.Hidden(t.Ids, t.Positions), model.LmHeadWeight, t.Labels);   // [2P]

    static (Tensor Chosen, Tensor Rejected) Sides(SequenceScores s, long p, bool mean)
    {
        var logp = mean ? s.LogProbSum / s.TokenCount.clamp_min(1).to(ScalarType.Float32) : s.LogProbSum;   // [2P]
        return (logp.narrow(0, 0, p), logp.narrow(0, p, p));
    }
}
