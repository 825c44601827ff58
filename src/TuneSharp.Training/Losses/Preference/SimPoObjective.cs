using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The SimPO loss of one pair micro-batch (Meng et al. 2024, eq. 6; TRL CPOTrainer with loss_type simpo and
/// cpo_alpha 0): one forward over all 2P rows, no reference model; on per-token MEAN log-probs p,
/// -(1 - eps) log sigma(beta (p(y_w) - p(y_l)) - gamma) - eps log sigma(-(...)) per pair (<see cref="SimPoLoss"/>),
/// summed over the pairs. Metrics: TRL's CPOTrainer names; nll_loss (the chosen answers' mean NLL per token) is
/// reported, not trained.
/// </summary>
public sealed class SimPoObjective(SimpoSection settings) : IPairObjective
{
    public MicroLoss Loss(CausalLM model, TrainBatch b, string prefix = "")
    {
        long p = PairScores.Pairs(b);
        var policy = PairScores.Of(model, BatchTensors.Of(b, model.LmHeadWeight.device));
        var (chosen, rejected) = policy.Sides(mean: true);                         // [P], [P]
        var pair = SimPoLoss.Compute(chosen, rejected, settings.Beta, settings.Gamma, settings.LabelSmoothing);

        var named = PairMetrics.Common(pair, chosen, rejected);
        named.Add(("nll_loss", -chosen.detach().sum()));
        return new MicroLoss(pair.Losses.sum(), PairMetrics.ToHost(named, prefix, p));
    }
}
