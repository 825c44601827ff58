using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The ORPO loss of one pair micro-batch (Hong et al. 2024, eq. 6): one forward over all 2P rows, no reference model.
/// With p = the per-token mean log-prob of an answer, per pair: L = -p(y_w) (the SFT loss of the chosen answer, eq. 2)
/// + beta x -log sigma(log odds(y_w) - log odds(y_l)) (<see cref="OrpoLoss"/>; beta is the paper's lambda), summed over
/// the pairs. Metrics: TRL's ORPOTrainer names (nll_loss, log_odds_ratio = mean log sigma(log odds ratio),
/// log_odds_chosen = mean log odds ratio).
/// </summary>
public sealed class OrpoObjective(OrpoSection settings) : IPairObjective
{
    public MicroLoss Loss(CausalLM model, TrainBatch b, string prefix = "")
    {
        long p = PairScores.Pairs(b);
        var policy = PairScores.Of(model, BatchTensors.Of(b, model.LmHeadWeight.device));
        var (chosen, rejected) = policy.Sides(mean: true);                         // [P], [P]
        var (pair, logOdds) = OrpoLoss.Compute(chosen, rejected, settings.Beta);
        // The SFT term per pair, as the paper and LLaMA-Factory: the chosen answer's mean NLL per token. (TRL averages
        // over all chosen tokens of its batch instead, prompt included; per pair keeps accumulation == one batch.)
        var nll = -chosen;                                                          // [P]
        var sum = (nll + pair.Losses).sum();

        var named = PairMetrics.Common(pair, chosen, rejected);
        named.Add(("nll_loss", nll.detach().sum()));
        named.Add(("log_odds_ratio", nn.functional.logsigmoid(logOdds).sum()));
        named.Add(("log_odds_chosen", logOdds.sum()));
        return new MicroLoss(sum, PairMetrics.ToHost(named, prefix, p));
    }
}
