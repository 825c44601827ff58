using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using TuneSharp.Models.Common;
using static TorchSharp.torch;

namespace TuneSharp.Models;

/// <summary>Token embedding with an uninitialized [V, hidden] table (loaded or initialized explicitly).</summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;

    public TokenEmbedding(long vocab, long dim, ScalarType dtype) : base("Embedding")
    {
        weight = new Parameter(empty(vocab, dim, dtype: dtype));
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var flat = weight.index_select(0, ids.reshape(-1)); // [B*T, hidden]
        return flat.view([.. ids.shape, weight.shape[1]]).MoveToOuterDisposeScope();
    }
}

/// <summary>The decoder stack, named as HF's `model` submodule (embed_tokens, layers, norm).</summary>
public sealed class DecoderModel : nn.Module<Tensor, LayerContext, Tensor>
{
    [ComponentName(Name = "embed_tokens")] readonly TokenEmbedding _embedTokens;
    [ComponentName(Name = "layers")] readonly TorchSharp.Modules.ModuleList<DecoderLayer> _layers;
    [ComponentName(Name = "norm")] readonly RmsNorm _norm;
    readonly DecoderLayer[] _layerArray; // the same modules, for a cheap loop

    public DecoderModel(DecoderArgs a, ILinearFactory linears, ScalarType dtype) : base("DecoderModel")
    {
        _embedTokens = new TokenEmbedding(a.VocabSize, a.HiddenSize, dtype);
        _layers = new TorchSharp.Modules.ModuleList<DecoderLayer>(
            Enumerable.Range(0, a.NumHiddenLayers).Select(i => new DecoderLayer(a, i, linears, dtype)).ToArray());
        _layerArray = _layers.ToArray();
        _norm = new RmsNorm(a.HiddenSize, a.RmsNormEps, dtype);
        RegisterComponents();
    }

    public TokenEmbedding EmbedTokens => _embedTokens;
    public IReadOnlyList<DecoderLayer> Layers => _layerArray;

    public Tensor Embed(Tensor ids) => _embedTokens.call(ids);

    /// <summary>Recompute each layer's activations in backward instead of keeping them (see <see cref="Checkpointing"/>).</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>h [B, T, hidden] through every layer and the final norm.</summary>
    public override Tensor forward(Tensor h, LayerContext ctx)
    {
        using var scope = NewDisposeScope();
        bool recompute = GradientCheckpointing && ctx.Cache is null && is_grad_enabled();
        foreach (var layer in _layerArray) h = recompute ? Checkpointing.Run(layer, h, ctx) : layer.call(h, ctx);
        return _norm.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A Llama-family causal language model with HF module paths (`model.layers.3.self_attn.q_proj.weight`, `lm_head.weight`),
/// so loading and saving are plain copies. One implementation serves every family through <see cref="DecoderArgs"/>.
/// </summary>
public sealed class CausalLM : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "model")] readonly DecoderModel _model;
    [ComponentName(Name = "lm_head")] readonly DenseLinear? _lmHead;
    DenseLinear? _score; // registered as "score" by AttachScoreHead (reward models), never at construction
    readonly Rope _rope;

    public CausalLM(DecoderArgs args, ScalarType dtype = ScalarType.Float32, ILinearFactory? linears = null) : base("CausalLM")
    {
        Args = args;
        DType = dtype;
        _model = new DecoderModel(args, linears ?? DenseLinearFactory.Instance, dtype);
        if (!args.TieWordEmbeddings) _lmHead = new DenseLinear(args.HiddenSize, args.VocabSize, false, dtype);
        _rope = new Rope(args.Rope, args.HeadDim, CPU);
        RegisterComponents();
    }

    public DecoderArgs Args { get; }
    public ScalarType DType { get; }
    public DecoderModel Model => _model;

    /// <summary>
    /// When on, training forwards (grad enabled, no KV cache) keep only each decoder layer's input and recompute the
    /// layer in backward: activation memory drops from all layers to about one, for roughly one extra forward.
    /// </summary>
    public bool GradientCheckpointing
    {
        get => _model.GradientCheckpointing;
        set => _model.GradientCheckpointing = value;
    }

    /// <summary>The output projection [V, hidden]: lm_head, or the embedding table when tied.</summary>
    public Tensor LmHeadWeight => _lmHead?.Weight ?? _model.EmbedTokens.Weight;

    /// <summary>The scalar head of a reward model (HF *ForSequenceClassification's <c>score</c>), when attached.</summary>
    public DenseLinear? ScoreHead => _score;

    /// <summary>Registers <paramref name="head"/> as the <c>score</c> module (parameter <c>score.weight</c>), so the
    /// optimizer, checkpoints and modules_to_save see it like any other module. Once per model.</summary>
    public void AttachScoreHead(DenseLinear head)
    {
        if (_score is not null) throw new InvalidOperationException("the model already has a score head");
        _score = head;
        register_module("score", head);
    }

    /// <summary>Logits [B, T, V] for token ids [B, T] (full causal forward, no cache).</summary>
    public override Tensor forward(Tensor inputIds) => Forward(inputIds);

    /// <summary>Logits [B, T, V]. See <see cref="Hidden"/> for the arguments.</summary>
    public Tensor Forward(Tensor inputIds, Tensor? positionIds = null, Tensor? keyPadding = null,
        Tensor? segmentIds = null, IKvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var h = Hidden(inputIds, positionIds, keyPadding, segmentIds, cache);
        return Logits(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Final normed hidden states [B, T, hidden]. <paramref name="positionIds"/> [B, T] default to cache index order;
    /// <paramref name="keyPadding"/> [B, S] (1 = real) covers cached and new keys; <paramref name="segmentIds"/> [B, T]
    /// isolates packed samples (pass their restarting position ids too). With a cache, the new keys are appended and
    /// the cache length advances by T.
    /// </summary>
    public Tensor Hidden(Tensor inputIds, Tensor? positionIds = null, Tensor? keyPadding = null,
        Tensor? segmentIds = null, IKvCache? cache = null)
    {
        using var scope = NewDisposeScope();
        long t = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        var device = inputIds.device;
        positionIds ??= arange(past, past + t, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(inputIds.shape[0], t);
        var (cos, sin) = _rope.CosSin(positionIds, DType);
        var mask = AttentionMask.Build(t, past, device, keyPadding, segmentIds, Args.SlidingWindow);
        var kernel = KernelFor(cache, keyPadding, segmentIds);
        var h = _model.call(_model.Embed(inputIds), new LayerContext(cos, sin, mask, cache, kernel));
        cache?.Advance((int)t);
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The attention kernel for a forward. Measured on CPU (docs/performance.md): the fused kernel is faster than the
    /// explicit one in fp32 and keeps no [T, S] scores for backward; in bf16 the explicit one is faster. The fused kernel
    /// is used only without a cache (prefill and decode write the cache) and without key padding (a left-padded row whose
    /// keys are all masked would give NaN in the fused kernel; the explicit one keeps it finite).
    /// </summary>
    AttentionKernel KernelFor(IKvCache? cache, Tensor? keyPadding, Tensor? segmentIds)
    {
        if (cache is not null || keyPadding is not null || !FusedAttentionFor(DType)) return AttentionKernel.Explicit;
        return segmentIds is null && Args.SlidingWindow is null ? AttentionKernel.FusedCausal : AttentionKernel.Fused;
    }

    /// <summary>Whether a full forward without cache or key padding (training, evaluation) uses the fused kernel in
    /// <paramref name="dtype"/>: fp32 yes, bf16 no (see <see cref="KernelFor"/>).</summary>
    public static bool FusedAttentionFor(ScalarType dtype) => dtype == ScalarType.Float32;

    /// <summary>hidden [.., hidden] → logits [.., V].</summary>
    public Tensor Logits(Tensor hidden) => nn.functional.linear(hidden, LmHeadWeight);

    public KvCache NewCache(int batchSize, int maxLength) =>
        new(Args, batchSize, maxLength, DType, LmHeadWeight.device);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }
}
