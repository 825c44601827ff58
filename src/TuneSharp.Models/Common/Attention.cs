using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>How attention is computed for one forward; chosen once per forward by <see cref="CausalLM"/>.</summary>
public enum AttentionKernel
{
    /// <summary>Explicit scores, masked softmax and a second matmul (any mask, KV cache, bf16).</summary>
    Explicit,
    /// <summary>libtorch's fused scaled_dot_product_attention with the boolean mask (no row fully masked).</summary>
    Fused,
    /// <summary>The fused kernel with its built-in causal mask: the mask is exactly causal (no padding, packing or window).</summary>
    FusedCausal,
}

/// <summary>Per-forward inputs shared by every layer: rotary tables, the mask, the cache if decoding, and the kernel.</summary>
public sealed record LayerContext(Tensor Cos, Tensor Sin, Tensor Mask, IKvCache? Cache, AttentionKernel Kernel = AttentionKernel.Explicit);

/// <summary>
/// Multi-head self-attention with grouped-query KV heads, optional q/k RMSNorm (qwen3) and RoPE.
/// Shapes: B batch, T queries, S keys (cache + T), H query heads, Hkv KV heads, G = H / Hkv, D head dim.
/// </summary>
public sealed class Attention : nn.Module<Tensor, LayerContext, Tensor>
{
    [ComponentName(Name = "q_proj")] readonly nn.Module<Tensor, Tensor> _qProj;
    [ComponentName(Name = "k_proj")] readonly nn.Module<Tensor, Tensor> _kProj;
    [ComponentName(Name = "v_proj")] readonly nn.Module<Tensor, Tensor> _vProj;
    [ComponentName(Name = "o_proj")] readonly nn.Module<Tensor, Tensor> _oProj;
    [ComponentName(Name = "q_norm")] readonly RmsNorm? _qNorm;
    [ComponentName(Name = "k_norm")] readonly RmsNorm? _kNorm;
    readonly int _layer, _heads, _kvHeads, _headDim;
    readonly double _scale;

    public Attention(DecoderArgs a, int layer, string path, ILinearFactory linears, ScalarType dtype) : base("Attention")
    {
        _layer = layer;
        _heads = a.NumAttentionHeads;
        _kvHeads = a.NumKeyValueHeads;
        _headDim = a.HeadDim;
        _scale = 1.0 / Math.Sqrt(a.HeadDim);
        _qProj = linears.Create($"{path}.q_proj", a.HiddenSize, _heads * _headDim, a.QkvBias, dtype);
        _kProj = linears.Create($"{path}.k_proj", a.HiddenSize, _kvHeads * _headDim, a.QkvBias, dtype);
        _vProj = linears.Create($"{path}.v_proj", a.HiddenSize, _kvHeads * _headDim, a.QkvBias, dtype);
        _oProj = linears.Create($"{path}.o_proj", _heads * _headDim, a.HiddenSize, a.OutputBias, dtype);
        if (a.QkNorm)
        {
            _qNorm = new RmsNorm(_headDim, a.RmsNormEps, dtype);
            _kNorm = new RmsNorm(_headDim, a.RmsNormEps, dtype);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, LayerContext ctx)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = _qProj.call(x).view(b, t, _heads, _headDim);   // [B, T, H, D]
        var k = _kProj.call(x).view(b, t, _kvHeads, _headDim); // [B, T, Hkv, D]
        var v = _vProj.call(x).view(b, t, _kvHeads, _headDim); // [B, T, Hkv, D]
        if (_qNorm is not null && _kNorm is not null)
        {
            q = _qNorm.call(q); // per-head norm over D, before RoPE
            k = _kNorm.call(k);
        }
        q = Rope.Apply(q.transpose(1, 2), ctx.Cos, ctx.Sin); // [B, H, T, D]
        k = Rope.Apply(k.transpose(1, 2), ctx.Cos, ctx.Sin); // [B, Hkv, T, D]
        v = v.transpose(1, 2);                               // [B, Hkv, T, D]
        if (ctx.Cache is not null) (k, v) = ctx.Cache.Update(_layer, k, v); // [B, Hkv, S, D]

        var o = ctx.Kernel == AttentionKernel.Explicit ? ExplicitAttention(q, k, v, ctx.Mask) : FusedAttention(q, k, v, ctx);
        o = o.transpose(1, 2).reshape(b, t, _heads * _headDim); // [B, H, T, D] -> [B, T, H*D]
        return _oProj.call(o).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Grouped-query attention without copying K/V: the G query heads that share a KV head are stacked along the rows,
    /// so each (batch, KV head) is one [G*T, D] x [D, S] matmul. The scale is applied to q (T*D values, not T*S), the
    /// mask is filled with the dtype's lowest finite value (a fully masked row stays finite), and softmax runs in the
    /// model dtype: the CPU bf16 kernel accumulates in fp32 and its output equals fp32 softmax rounded to bf16, without
    /// the two full-size casts per layer that an explicit fp32 softmax costs. q [B, H, T, D], k/v [B, Hkv, S, D].
    /// </summary>
    Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v, Tensor mask)
    {
        long b = q.shape[0], t = q.shape[2], s = k.shape[2], g = _heads / _kvHeads;
        var qg = (q * _scale).reshape(b, _kvHeads, g * t, _headDim);             // [B, Hkv, G*T, D]
        var scores = qg.matmul(k.transpose(-1, -2)).view(b, _kvHeads, g, t, s); // [B, Hkv, G, T, S]
        var probs = scores.masked_fill(mask.logical_not(), finfo(scores.dtype).min).softmax(-1);
        var o = probs.view(b, _kvHeads, g * t, s).matmul(v);                    // [B, Hkv, G*T, D]
        return o.view(b, _heads, t, _headDim);
    }

    /// <summary>
    /// libtorch's fused attention (flash-style on CPU: the [T, S] scores are never stored for backward). It has no
    /// grouped-query option, so K/V heads are repeated to H first, as HF's repeat_kv does.
    /// </summary>
    Tensor FusedAttention(Tensor q, Tensor k, Tensor v, LayerContext ctx)
    {
        long g = _heads / _kvHeads;
        if (g > 1)
        {
            k = k.repeat_interleave(g, 1); // [B, H, S, D]
            v = v.repeat_interleave(g, 1);
        }
        return ctx.Kernel == AttentionKernel.FusedCausal
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: ctx.Mask.squeeze(1)); // mask [B|1, 1, T, S]
    }
}
