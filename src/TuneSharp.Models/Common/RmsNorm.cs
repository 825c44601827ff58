using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// RMSNorm (Zhang & Sennrich 2019) as HF Llama computes it: normalize in fp32, cast back to the input dtype, then scale.
/// TorchSharp has no built-in RMSNorm.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double _eps;

    public RmsNorm(long dim, double eps, ScalarType dtype) : base("RmsNorm")
    {
        _eps = eps;
        weight = new Parameter(ones(dim, dtype: dtype));
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        // x / sqrt(mean(x^2) + eps) over the last dim, in fp32 for stability in bf16 runs
        var normed = x32 * (x32.pow(2).mean([-1], keepdim: true) + _eps).rsqrt();
        return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
