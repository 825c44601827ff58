using static TorchSharp.torch;

namespace TuneSharp.Models;

/// <summary>Random initialization for models that are not loaded from a checkpoint (tests, benchmarks, pretraining).</summary>
public static class ModelInit
{
    /// <summary>
    /// HF-style init: projection and embedding weights ~ N(0, std), biases 0, norm weights 1. Deterministic for a seed
    /// (parameters are visited in registration order).
    /// </summary>
    public static void Normal(CausalLM model, long seed, double? std = null)
    {
        double s = std ?? model.Args.InitializerRange;
        using var noGrad = no_grad();
        using var gen = new Generator().manual_seed(seed);
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith("layernorm.weight", StringComparison.Ordinal))
                p.fill_(1.0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
                p.zero_();
            else
                p.normal_(0.0, s, gen);
        }
    }
}
