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

        var metrics = new MetricSums();
        if (settings.RpoAlpha is { } alpha)
        {
            // TRL: loss = mean over pairs of the DPO loss + alpha x NLL of the batch's chosen tokens (mean per token);
            // summed over the P pairs here, so alpha x NLL counts once per pair.
            var nll = -policy.LogProbSum.narrow(0, 0, p).sum() / policy.TokenCount.narrow(0, 0, p).sum().clamp_min(1).to(ScalarType.Float32);
            sum = sum + alpha * p * nll;
            metrics.Add(prefix + "nll_loss", nll.item<float>() * p, p);
        }
        Add(metrics, prefix + "rewards/chosen", pair.ChosenRewards, p);
        Add(metrics, prefix + "rewards/rejected", pair.RejectedRewards, p);
        Add(metrics, prefix + "rewards/accuracies", pair.ChosenRewards.gt(pair.RejectedRewards).to(ScalarType.Float32), p);
        Add(metrics, prefix + "rewards/margins", pair.ChosenRewards - pair.RejectedRewards, p);
        Add(metrics, prefix + "logps/chosen", pc.detach(), p);
        Add(metrics, prefix + "logps/rejected", pr.detach(), p);
        return new MicroLoss(sum, metrics);
    }

    static SequenceScores LogProbs(CausalLM model, BatchTensors t) =>
        SequenceLogProbs.Compute(model.Hidden(t.Ids, t.Positions), model.LmHeadWeight, t.Labels);   // [2P]

    static (Tensor Chosen, Tensor Rejected) Sides(SequenceScores s, long p, bool mean)
    {
        var logp = mean ? s.LogProbSum / s.TokenCount.clamp_min(1).to(ScalarType.Float32) : s.LogProbSum;   // [2P]
        return (logp.narrow(0, 0, p), logp.narrow(0, p, p));
    }

    static void Add(MetricSums metrics, string name, Tensor values, long count) => metrics.Add(name, values.sum().item<float>(), count);
}
