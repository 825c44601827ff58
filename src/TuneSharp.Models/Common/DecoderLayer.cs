using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>Pre-norm transformer block: x += attn(norm(x)); x += mlp(norm(x)).</summary>
public sealed class DecoderLayer : nn.Module<Tensor, LayerContext, Tensor>
{
    [ComponentName(Name = "self_attn")] readonly Attention _selfAttn;
    [ComponentName(Name = "mlp")] readonly GatedMlp _mlp;
    [ComponentName(Name = "input_layernorm")] readonly RmsNorm _inputLayernorm;
    [ComponentName(Name = "post_attention_layernorm")] readonly RmsNorm _postAttentionLayernorm;

    public DecoderLayer(DecoderArgs a, int index, ILinearFactory linears, ScalarType dtype) : base("DecoderLayer")
    {
        string path = $"model.layers.{index}";
        _selfAttn = new Attention(a, index, $"{path}.self_attn", linears, dtype);
        _mlp = new GatedMlp(a, $"{path}.mlp", linears, dtype);
        _inputLayernorm = new RmsNorm(a.HiddenSize, a.RmsNormEps, dtype);
        _postAttentionLayernorm = new RmsNorm(a.HiddenSize, a.RmsNormEps, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, LayerContext ctx)
    {
        using var scope = NewDisposeScope();
        var h = x + _selfAttn.call(_inputLayernorm.call(x), ctx);
        return (h + _mlp.call(_postAttentionLayernorm.call(h))).MoveToOuterDisposeScope();
    }
}
