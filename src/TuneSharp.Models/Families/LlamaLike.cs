namespace TuneSharp.Models.Families;

/// <summary>The keys shared by the Llama-like families, and the checks that keep unsupported variants out.</summary>
static class LlamaLike
{
    /// <summary>Metadata and runtime-only keys: present in real configs, irrelevant to the math.</summary>
    static readonly string[] Metadata =
    [
        "architectures", "model_type", "transformers_version", "torch_dtype", "dtype", "use_cache", "_name_or_path",
        "pretraining_tp", "attention_dropout", "is_llama_config", "transformers.js_config", "bos_token_id",
        "eos_token_id", "pad_token_id", "initializer_range", "output_attentions", "output_hidden_states",
        "return_dict", "auto_map", "unsloth_version", "max_window_layers",
    ];

    public static DecoderArgs Map(ConfigReader c, string modelType)
    {
        string act = c.String("hidden_act") ?? "silu";
        if (act != "silu") throw c.Unsupported("hidden_act", $"= '{act}' is not supported (only 'silu': SwiGLU MLP)");
        if (c.Bool("rope_interleaved", false)) throw c.Unsupported("rope_interleaved", "= true is not supported");
        if (c.DoubleOrNull("partial_rotary_factor") is { } prf && prf != 1.0)
            throw c.Unsupported("partial_rotary_factor", $"= {prf} is not supported (only full rotary)");
        if (c.Has("quantization_config")) throw c.Unsupported("quantization_config", "pre-quantized checkpoints are not supported");

        int hidden = c.Int("hidden_size");
        int heads = c.Int("num_attention_heads");
        int kvHeads = c.Int("num_key_value_heads", heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new InvalidDataException($"{c.Source}: num_attention_heads ({heads}) must be a positive multiple of num_key_value_heads ({kvHeads})");
        int headDim = c.IntOrNull("head_dim") ?? (hidden % heads == 0
            ? hidden / heads
            : throw new InvalidDataException($"{c.Source}: hidden_size {hidden} is not divisible by num_attention_heads {heads} and head_dim is missing"));
        if (headDim % 2 != 0) throw new InvalidDataException($"{c.Source}: head_dim {headDim} must be even for RoPE");
        int maxPos = c.Int("max_position_embeddings", 2048);

        var args = new DecoderArgs
        {
            ModelType = modelType,
            VocabSize = c.Int("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = c.Int("intermediate_size"),
            NumHiddenLayers = c.Int("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            MaxPositionEmbeddings = maxPos,
            RmsNormEps = c.Double("rms_norm_eps", 1e-6),
            Rope = new RopeArgs(c.Double("rope_theta", 10000.0), RopeScalingFrom(c, maxPos)),
            TieWordEmbeddings = c.Bool("tie_word_embeddings", false),
            BosTokenId = c.IntOrNull("bos_token_id"),
            EosTokenIds = c.IntList("eos_token_id"),
            PadTokenId = c.IntOrNull("pad_token_id"),
            InitializerRange = c.Double("initializer_range", 0.02),
        };
        c.Ignore(Metadata);
        return args;
    }

    /// <summary>Call last: every key nobody read is recorded on the args (and shown by the loader).</summary>
    public static DecoderArgs Finish(ConfigReader c, DecoderArgs args) => args with { IgnoredKeys = c.UnreadKeys.ToArray() };

    static RopeScaling RopeScalingFrom(ConfigReader c, int maxPos)
    {
        var rs = c.Object("rope_scaling");
        if (rs == null) return new RopeScaling.None();
        // Older configs spell the variant `type`, newer ones `rope_type`; HF accepts both.
        string? type = rs.String("rope_type") ?? rs.String("type");
        rs.Ignore("type", "rope_type");
        RopeScaling result = type switch
        {
            null => throw new InvalidDataException($"{c.Source}: 'rope_scaling' has no 'rope_type'"),
            "default" => new RopeScaling.None(),
            "linear" => new RopeScaling.Linear(rs.Double("factor")),
            "dynamic" => new RopeScaling.Dynamic(rs.Double("factor"), rs.Int("original_max_position_embeddings", maxPos)),
            "llama3" => new RopeScaling.Llama3(rs.Double("factor"), rs.Double("low_freq_factor"),
                rs.Double("high_freq_factor"), rs.Int("original_max_position_embeddings")),
            _ => throw c.Unsupported("rope_scaling.rope_type",
                $"= '{type}' is not supported (supported: default, linear, dynamic, llama3)"),
        };
        if (rs.UnreadKeys.FirstOrDefault() is { } extra)
            throw c.Unsupported($"rope_scaling.{extra}", $"is not understood for rope_type '{type}'");
        return result;
    }
}

sealed class LlamaFamily : IModelFamily
{
    public string ModelType => "llama";
    public IReadOnlyList<string> Architectures => ["LlamaForCausalLM"];

    public DecoderArgs Map(ConfigReader c)
    {
        bool attnBias = c.Bool("attention_bias", false);
        var args = LlamaLike.Map(c, ModelType) with
        {
            QkvBias = attnBias,
            OutputBias = attnBias,
            MlpBias = c.Bool("mlp_bias", false),
        };
        return LlamaLike.Finish(c, args);
    }
}

sealed class MistralFamily : IModelFamily
{
    public string ModelType => "mistral";
    public IReadOnlyList<string> Architectures => ["MistralForCausalLM"];

    public DecoderArgs Map(ConfigReader c) =>
        LlamaLike.Finish(c, LlamaLike.Map(c, ModelType) with { SlidingWindow = c.IntOrNull("sliding_window") });
}

/// <summary>Qwen2: bias on q/k/v (implied by the model type, no config key).</summary>
sealed class Qwen2Family : IModelFamily
{
    public string ModelType => "qwen2";
    public IReadOnlyList<string> Architectures => ["Qwen2ForCausalLM"];

    public DecoderArgs Map(ConfigReader c) => LlamaLike.Finish(c, QwenCommon.Map(c, ModelType) with { QkvBias = true });
}

/// <summary>Qwen3: per-head RMSNorm on q and k, optional attention bias, explicit head_dim.</summary>
sealed class Qwen3Family : IModelFamily
{
    public string ModelType => "qwen3";
    public IReadOnlyList<string> Architectures => ["Qwen3ForCausalLM"];

    public DecoderArgs Map(ConfigReader c)
    {
        bool bias = c.Bool("attention_bias", false);
        return LlamaLike.Finish(c, QwenCommon.Map(c, ModelType) with { QkNorm = true, QkvBias = bias, OutputBias = bias });
    }
}

static class QwenCommon
{
    public static DecoderArgs Map(ConfigReader c, string modelType)
    {
        if (c.Bool("use_sliding_window", false))
            throw c.Unsupported("use_sliding_window", "= true is not supported (per-layer sliding windows)");
        c.Ignore("sliding_window");
        if (c.Raw("layer_types") is { } types && types.EnumerateArray().Any(t => t.GetString() != "full_attention"))
            throw c.Unsupported("layer_types", "contains a layer type other than 'full_attention'");
        return LlamaLike.Map(c, modelType);
    }
}
