namespace TuneSharp.Models;

/// <summary>
/// Everything the shared decoder needs to know about an architecture. Mapped from `config.json` by a family
/// (see <see cref="Families.ModelFamilies"/>); names track the HF config keys.
/// </summary>
public sealed record DecoderArgs
{
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public required double RmsNormEps { get; init; }
    public required RopeArgs Rope { get; init; }
    /// <summary>Bias on q/k/v projections (qwen2, llama with attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on o_proj (llama with attention_bias).</summary>
    public bool OutputBias { get; init; }
    /// <summary>Bias on gate/up/down (llama mlp_bias).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Per-head RMSNorm on q and k before RoPE (qwen3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>Keys further back than this many positions are not attended (mistral); null = full causal.</summary>
    public int? SlidingWindow { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Config keys that were present but ignored (harmless for the math); reported, never silently relied on.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; init; } = [];

    /// <summary>Query heads per KV head (grouped-query attention).</summary>
    public int KvGroups => NumAttentionHeads / NumKeyValueHeads;
}

/// <summary>Rotary position embedding: base frequency and an optional scaling variant.</summary>
public sealed record RopeArgs(double Theta, RopeScaling Scaling);

/// <summary>The `rope_scaling` variants TuneSharp implements. Anything else fails loudly at config mapping.</summary>
public abstract record RopeScaling
{
    private RopeScaling() { }

    /// <summary>No scaling: inv_freq = 1 / theta^(2i/d).</summary>
    public sealed record None : RopeScaling;

    /// <summary>Position interpolation: inv_freq / factor.</summary>
    public sealed record Linear(double Factor) : RopeScaling;

    /// <summary>Dynamic NTK: the base grows with the current sequence length once it exceeds the original context.</summary>
    public sealed record Dynamic(double Factor, int OriginalMaxPositions) : RopeScaling;

    /// <summary>Llama 3.1: low frequencies divided by factor, high kept, a smooth blend in between.</summary>
    public sealed record Llama3(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions) : RopeScaling;
}
