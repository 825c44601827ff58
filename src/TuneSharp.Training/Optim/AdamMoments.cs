using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>Adam's hyperparameters (<see cref="AdamW"/>, <see cref="Adam"/>, <see cref="AdamW8bit"/>); lr and weight
/// decay are per group.</summary>
public sealed record AdamOptions
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;

    internal void Check(string optimizer)
    {
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(Beta1), $"{optimizer}: betas must be in [0, 1), got ({Beta1}, {Beta2})");
    }
}

/// <summary>Adam's two fp32 moments of one parameter.</summary>
public sealed class AdamState(Tensor expAvg, Tensor expAvgSq) : IParamState
{
    public const string ExpAvgKey = "exp_avg", ExpAvgSqKey = "exp_avg_sq";

    public Tensor ExpAvg { get; } = expAvg;
    public Tensor ExpAvgSq { get; } = expAvgSq;

    public static AdamState Zeros(Tensor param) => new(
        torch.zeros(param.shape, ScalarType.Float32, param.device).DetachFromDisposeScope(),
        torch.zeros(param.shape, ScalarType.Float32, param.device).DetachFromDisposeScope());

    public static AdamState Load(StateReader r) => new(r.Fp32(ExpAvgKey), r.Fp32(ExpAvgSqKey));

    public IEnumerable<(string Suffix, Tensor Tensor)> Tensors() => [(ExpAvgKey, ExpAvg), (ExpAvgSqKey, ExpAvgSq)];

    public void Dispose()
    {
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
    }
}

/// <summary>The moment update and bias-corrected step that Adam, AdamW and 8-bit AdamW share (torch 1.13
/// <c>_single_tensor_adam(w)</c>, operation for operation).</summary>
public static class AdamMoments
{
    /// <summary>
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²; p -= lr / bc1 · m / (sqrt(v) / sqrt(bc2) + eps), with
    /// bc = 1 - b^t in double. The denominator is sqrt(v) / sqrt(bc2), not sqrt(v / bc2): the same order as torch.
    /// </summary>
    public static void Step(Tensor param, Tensor grad, Tensor m, Tensor v, long t, double lr, AdamOptions o)
    {
        m.mul_(o.Beta1).add_(grad, alpha: 1 - o.Beta1);
        v.mul_(o.Beta2).addcmul_(grad, grad, value: 1 - o.Beta2);
        double biasCorrection1 = 1 - Math.Pow(o.Beta1, t);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, t);
        Tensor denom = v.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(o.Eps);
        param.addcdiv_(m, denom, value: -(lr / biasCorrection1));
    }
}
