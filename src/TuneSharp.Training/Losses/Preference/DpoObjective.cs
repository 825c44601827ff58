using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The DPO loss of one pair micro-batch: one policy forward over all 2P rows, one reference forward without gradients
/// (<see cref="IReferencePolicy"/>: the model with its adapters disabled, or a frozen copy for full and freeze runs;
/// none when the batch carries precomputed reference log-probs),
/// per-sequence log-probs of the completions, <see cref="DpoLoss"/>
/// summed over the pairs (the step driver divides by the pairs of the step), plus the RPO term when <c>rpo_alpha</c>
/// is set. Metrics are TRL's.
/// </summary>
/// <param name="reference">The reference policy (owned); null = the model with its adapters disabled.</param>
public sealed class DpoObjective(DpoSection settings, IReferencePolicy? reference = null) : IPairObjective, IDisposable
{
    readonly IReferencePolicy _reference = reference ?? new AdaptersOffReference();

    public MicroLoss Loss(CausalLM model, TrainBatch b, string prefix = "")
    {
        long p = PairScores.Pairs(b);
        var t = BatchTensors.Of(b, model.LmHeadWeight.device);
        var policy = PairScores.Of(model, t);
        var reference = b.ReferenceLogProbs is { } precomputed
            ? PairScores.Precomputed(precomputed, policy)
            : _reference.Run(model, m => PairScores.Of(m, t));
        // IPO is defined on per-token mean log-probs (as TRL); the other losses on sums unless length-normalised.
        bool mean = settings.LossType == DpoLossType.Ipo || settings.LengthNormalize;
        var (pc, pr) = policy.Sides(mean);                                          // [P], [P]
        var (rc, rr) = reference.Sides(mean);                                       // [P], [P]
        var pair = DpoLoss.Compute(settings.LossType, pc, pr, rc, rr, settings.Beta, settings.LabelSmoothing);
        var sum = pair.Losses.sum();

        var named = PairMetrics.Common(pair, pc, pr);
        if (settings.RpoAlpha is { } alpha)
        {
            // TRL: loss = mean over pairs of the DPO loss + alpha x NLL of the batch's chosen tokens (mean per token);
            // summed over the P pairs here, so alpha x NLL counts once per pair.
            var nll = -policy.ChosenSum.sum() / policy.ChosenTokens.sum().clamp_min(1).to(ScalarType.Float32);
            sum = sum + alpha * p * nll;
            named.Add(("nll_loss", nll.detach() * p));
        }
        return new MicroLoss(sum, PairMetrics.ToHost(named, prefix, p));
    }

    public PreparedPairs Prepare(PreparedPairs data, TrainableModel model, TrainConfig cfg, CancellationToken ct) =>
        _reference.Prepare(data, model, cfg, ct);

    public void Dispose() => _reference.Dispose();
}
