using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// Creates the projections of a model. Layers ask the factory for each one by its HF path
/// (`model.layers.3.self_attn.q_proj`), so an adapter policy (LoRA, DoRA, QLoRA) decides per path what to build,
/// without surgery on a built model.
/// </summary>
public interface ILinearFactory
{
    nn.Module<Tensor, Tensor> Create(string path, long inFeatures, long outFeatures, bool bias, ScalarType dtype);
}

/// <summary>Plain dense projections.</summary>
public sealed class DenseLinearFactory : ILinearFactory
{
    public static DenseLinearFactory Instance { get; } = new();

    public nn.Module<Tensor, Tensor> Create(string path, long inFeatures, long outFeatures, bool bias, ScalarType dtype) =>
        new DenseLinear(inFeatures, outFeatures, bias, dtype);
}

/// <summary>y = x W^T + b. Weights start uninitialized (they are loaded or initialized explicitly).</summary>
public sealed class DenseLinear : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;

    public DenseLinear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype) : base("Linear")
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype)); // [out, in] as in HF
        if (hasBias) bias = new Parameter(zeros(outFeatures, dtype: dtype));
        RegisterComponents();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Parameter Weight => weight;
    public Parameter? Bias => bias;

    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);
}
