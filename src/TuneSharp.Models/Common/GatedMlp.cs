using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) * up(x)).</summary>
public sealed class GatedMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] readonly nn.Module<Tensor, Tensor> _gateProj;
    [ComponentName(Name = "up_proj")] readonly nn.Module<Tensor, Tensor> _upProj;
    [ComponentName(Name = "down_proj")] readonly nn.Module<Tensor, Tensor> _downProj;

    public GatedMlp(DecoderArgs a, string path, ILinearFactory linears, ScalarType dtype) : base("GatedMlp")
    {
        _gateProj = linears.Create($"{path}.gate_proj", a.HiddenSize, a.IntermediateSize, a.MlpBias, dtype);
        _upProj = linears.Create($"{path}.up_proj", a.HiddenSize, a.IntermediateSize, a.MlpBias, dtype);
        _downProj = linears.Create($"{path}.down_proj", a.IntermediateSize, a.HiddenSize, a.MlpBias, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.silu(_gateProj.call(x)) * _upProj.call(x); // [B, T, F]
        return _downProj.call(h).MoveToOuterDisposeScope();
    }
}
