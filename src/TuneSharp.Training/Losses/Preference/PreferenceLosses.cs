using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// Per-pair losses [P] (with gradients) and implicit rewards [P] (detached) of a preference objective. A recipe sums
/// <see cref="Losses"/> over its micro-batch and lets the step driver divide by the pairs of the whole step, so the
/// step's loss is the mean over its pairs, as in TRL.
/// </summary>
public readonly record struct PairLoss(Tensor Losses, Tensor ChosenRewards, Tensor RejectedRewards);

/// <summary>DPO loss variants (TRL <c>loss_type</c>, LLaMA-Factory <c>pref_loss</c>).</summary>
public enum DpoLossType { Sigmoid, Ipo, Hinge, Robust }

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023) and its variants, over sequence log-probabilities [P] of the
/// policy and the reference model. With h = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l)):
/// <list type="bullet">
/// <item>sigmoid (eq. 7; with label smoothing eps = conservative DPO): -(1 - eps) log sigma(beta h) - eps log sigma(-beta h)</item>
/// <item>robust (Chowdhury et al. 2024, unbiased under label noise eps): (-(1 - eps) log sigma(beta h) + eps log sigma(-beta h)) / (1 - 2 eps)</item>
/// <item>hinge (SLiC, Zhao et al. 2023): max(0, 1 - beta h)</item>
/// <item>ipo (Azar et al. 2023, eq. 17): (h - 1 / (2 beta))^2, on per-token mean log-probs (the caller averages)</item>
/// </list>
/// Rewards: beta (log pi(y) - log pi_ref(y)) for chosen and rejected, detached.
/// </summary>
public static class DpoLoss
{
    public static PairLoss Compute(DpoLossType type, Tensor policyChosen, Tensor policyRejected, Tensor refChosen, Tensor refRejected,
        double beta, double labelSmoothing = 0)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), $"dpo: beta must be > 0, got {beta}");
        if (labelSmoothing is < 0 or >= 0.5) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"dpo: label smoothing must be in [0, 0.5), got {labelSmoothing}");
        using var scope = NewDisposeScope();
        var h = policyChosen - refChosen - (policyRejected - refRejected);                                  // [P]
        var losses = type switch
        {
            DpoLossType.Sigmoid => -(1 - labelSmoothing) * nn.functional.logsigmoid(beta * h) - labelSmoothing * nn.functional.logsigmoid(-beta * h),
            DpoLossType.Robust => (-(1 - labelSmoothing) * nn.functional.logsigmoid(beta * h) + labelSmoothing * nn.functional.logsigmoid(-beta * h)) / (1 - 2 * labelSmoothing),
            DpoLossType.Hinge => nn.functional.relu(1 - beta * h),
            DpoLossType.Ipo => (h - 1 / (2 * beta)).pow(2),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "dpo: unknown loss type"),
        };
        return Detached(losses, beta * (policyChosen - refChosen), beta * (policyRejected - refRejected));
    }

    internal static PairLoss Detached(Tensor losses, Tensor chosenRewards, Tensor rejectedRewards) => new(
        losses.MoveToOuterDisposeScope(), chosenRewards.detach().MoveToOuterDisposeScope(), rejectedRewards.detach().MoveToOuterDisposeScope());
}

/// <summary>
/// SimPO (Meng et al. 2024, eq. 6): reference-free, on per-token MEAN log-probs (the caller averages) with a target
/// margin gamma: -log sigma(beta (mean log pi(y_w) - mean log pi(y_l)) - gamma), optionally label-smoothed like DPO.
/// Rewards: beta x mean log-prob.
/// </summary>
public static class SimPoLoss
{
    public static PairLoss Compute(Tensor chosenMeanLogp, Tensor rejectedMeanLogp, double beta, double gamma, double labelSmoothing = 0)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), $"simpo: beta must be > 0, got {beta}");
        using var scope = NewDisposeScope();
        var z = beta * (chosenMeanLogp - rejectedMeanLogp) - gamma;                                         // [P]
        var losses = -(1 - labelSmoothing) * nn.functional.logsigmoid(z) - labelSmoothing * nn.functional.logsigmoid(-z);
        return DpoLoss.Detached(losses, beta * chosenMeanLogp, beta * rejectedMeanLogp);
    }
}

/// <summary>
/// ORPO's odds-ratio term (Hong et al. 2024, eq. 6-7), on per-token MEAN log-probs p (the caller averages):
/// log odds(y) = p - log(1 - e^p); the pair loss is -beta log sigma(log odds(y_w) - log odds(y_l)), added by the recipe
/// to the SFT loss on the chosen answer. Rewards: beta x mean log-prob. <see cref="LogOdds"/> is the per-pair log odds ratio.
/// </summary>
public static class OrpoLoss
{
    public static (PairLoss Pair, Tensor LogOdds) Compute(Tensor chosenMeanLogp, Tensor rejectedMeanLogp, double beta)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), $"orpo: beta must be > 0, got {beta}");
        using var scope = NewDisposeScope();
        // log(1 - e^p) as log1p(-e^p): accurate for the small probabilities of whole answers.
        var logOdds = chosenMeanLogp - rejectedMeanLogp
                      - (chosenMeanLogp.exp().neg().log1p() - rejectedMeanLogp.exp().neg().log1p());           // [P]
        var losses = -beta * nn.functional.logsigmoid(logOdds);
        var pair = DpoLoss.Detached(losses, beta * chosenMeanLogp, beta * rejectedMeanLogp);
        return (pair, logOdds.detach().MoveToOuterDisposeScope());
    }
}

/// <summary>
/// KTO (Ethayarajh et al. 2024, eq. 8) as TRL computes it, on unpaired examples labelled desirable or not:
/// z0 = max(0, mean over the batch's mismatched prompt/completion pairs of log pi(y'|x) - log pi_ref(y'|x)), detached;
/// desirable: w_d (1 - sigma(beta (r - z0))), undesirable: w_u (1 - sigma(beta (z0 - r))), r = log pi(y|x) - log pi_ref(y|x).
/// Rewards: beta r (detached).
/// </summary>
public static class KtoLoss
{
    /// <param name="desirable">[N] bool: which examples are desirable.</param>
    /// <returns>Losses [N] and rewards [N] (in <see cref="PairLoss.ChosenRewards"/>; <see cref="PairLoss.RejectedRewards"/> is the KL estimate z0 [1]).</returns>
    public static PairLoss Compute(Tensor policyLogp, Tensor refLogp, Tensor desirable, Tensor policyKlLogp, Tensor refKlLogp,
        double beta, double desirableWeight = 1, double undesirableWeight = 1)
    {
        using var scope = NewDisposeScope();
        var p = Compute(policyLogp, refLogp, desirable, KlEstimate(policyKlLogp, refKlLogp), beta, desirableWeight, undesirableWeight);
        return DpoLoss.Detached(p.Losses, p.ChosenRewards, p.RejectedRewards);
    }

    /// <summary>z0 = max(0, mean(log pi(y'|x) - log pi_ref(y'|x))) over mismatched pairs [M], detached: [1].</summary>
    public static Tensor KlEstimate(Tensor policyKlLogp, Tensor refKlLogp) =>
        (policyKlLogp - refKlLogp).mean().clamp_min(0).detach().reshape(1);

    /// <param name="kl">The KL estimate z0 [1] (detached, already clamped at 0), e.g. over all the examples of a step.</param>
    public static PairLoss Compute(Tensor policyLogp, Tensor refLogp, Tensor desirable, Tensor kl,
        double beta, double desirableWeight = 1, double undesirableWeight = 1)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), $"kto: beta must be > 0, got {beta}");
        using var scope = NewDisposeScope();
        var r = policyLogp - refLogp;                                                                        // [N]
        var good = desirableWeight * (1 - (beta * (r - kl)).sigmoid());
        var bad = undesirableWeight * (1 - (beta * (kl - r)).sigmoid());
        var losses = where(desirable, good, bad);
        return DpoLoss.Detached(losses, beta * r, kl);
    }
}

/// <summary>
/// Reward model pairwise loss (Bradley-Terry; Ouyang et al. 2022, eq. 1): -log sigma(r(x, y_w) - r(x, y_l) - margin)
/// over the scalar scores of the chosen and rejected answers.
/// </summary>
public static class RewardLoss
{
    public static PairLoss Compute(Tensor chosenScores, Tensor rejectedScores, Tensor? margin = null)
    {
        using var scope = NewDisposeScope();
        var diff = chosenScores - rejectedScores;                                                            // [P]
        var losses = -nn.functional.logsigmoid(margin is null ? diff : diff - margin);
        return DpoLoss.Detached(losses, chosenScores, rejectedScores);
    }
}
