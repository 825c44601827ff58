using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>Gradient clipping by global norm, as <c>torch.nn.utils.clip_grad_norm_</c> (L2).</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients in place by <c>min(1, maxNorm / (norm + 1e-6))</c> where <c>norm</c> is the L2 norm of all
    /// gradients taken together (computed in fp32 also for bf16 gradients; torch would use the gradient dtype).
    /// Parameters without a gradient are skipped. Returns the norm before clipping (0 when there is no gradient;
    /// NaN/Inf pass through, as in torch with <c>error_if_nonfinite=False</c>).
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0.0;

        // Norm of the per-tensor norms = norm of the concatenation (torch's formulation, same rounding).
        var norms = grads.Select(g => torch.linalg.vector_norm(g.dtype == ScalarType.Float32 ? g : g.to(ScalarType.Float32), 2)).ToArray();
        Tensor total = torch.linalg.vector_norm(torch.stack(norms), 2);

        // torch computes max_norm / (total + 1e-6) as reciprocal(total + 1e-6) * max_norm (Tensor.__rdiv__).
        Tensor coef = (total + 1e-6).reciprocal().mul_(maxNorm).clamp_(max: 1.0);
        foreach (var g in grads) g.mul_(coef);
        return total.item<float>();
    }
}
