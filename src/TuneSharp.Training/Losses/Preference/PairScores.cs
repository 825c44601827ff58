using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Loop;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// A model's per-sequence log-probs of the answers of one pair micro-batch (P chosen rows, then P rejected rows; the
/// prompt is not scored), split into the two sides. Sums [P] fp32 (with gradients when enabled), token counts [P] int64.
/// </summary>
public readonly record struct PairScores(Tensor ChosenSum, Tensor RejectedSum, Tensor ChosenTokens, Tensor RejectedTokens)
{
    /// <summary>Units of a pair micro-batch: its pairs.</summary>
    public static long Pairs(TrainBatch b) => b.Rows / 2;

    /// <summary>One forward of all 2P rows through <paramref name="model"/> (as it is: adapters, grad mode).</summary>
    public static PairScores Of(CausalLM model, BatchTensors t)
    {
        var s = SequenceLogProbs.Compute(model.Hidden(t.Ids, t.Positions), model.LmHeadWeight, t.Labels);   // [2P]
        long p = s.LogProbSum.shape[0] / 2;
        return new(s.LogProbSum.narrow(0, 0, p), s.LogProbSum.narrow(0, p, p), s.TokenCount.narrow(0, 0, p), s.TokenCount.narrow(0, p, p));
    }

    /// <summary>Reference scores computed before training (<see cref="TrainBatch.ReferenceLogProbs"/>: P chosen sums,
    /// then P rejected sums), with the token counts of <paramref name="policy"/> (the same rows).</summary>
    public static PairScores Precomputed(double[] sums, PairScores policy)
    {
        int p = sums.Length / 2;
        var device = policy.ChosenSum.device;
        var all = tensor(sums, dtype: ScalarType.Float32, device: device);
        return new(all.narrow(0, 0, p), all.narrow(0, p, p), policy.ChosenTokens, policy.RejectedTokens);
    }

    /// <summary>Summed log-probs log pi(y|x) (DPO) or per-token means (1/|y|) log pi(y|x) (IPO, ORPO, SimPO), [P] each.</summary>
    public (Tensor Chosen, Tensor Rejected) Sides(bool mean) =>
        mean ? (Mean(ChosenSum, ChosenTokens), Mean(RejectedSum, RejectedTokens)) : (ChosenSum, RejectedSum);

    static Tensor Mean(Tensor sum, Tensor tokens) => sum / tokens.clamp_min(1).to(ScalarType.Float32);
}
