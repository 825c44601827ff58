namespace TuneSharp.Peft;

/// <summary>
/// Quantized frozen base weights (QLoRA). <paramref name="Bits"/> 4 = NF4 (bitsandbytes codebook), 8 = symmetric int8;
/// both use one absmax scale per <paramref name="BlockSize"/> consecutive values of the row-major weight.
/// <paramref name="DoubleQuant"/> stores those scales in 8 bits as bitsandbytes does (dynamic map, blocks of 256).
/// </summary>
public sealed record QuantSettings(int Bits, int BlockSize = 64, bool DoubleQuant = true)
{
    /// <summary>Throws <see cref="ArgumentException"/> for settings the quantizer does not implement.</summary>
    public void Validate()
    {
        if (Bits is not (4 or 8)) throw new ArgumentException($"quant bits must be 4 (NF4) or 8 (int8), got {Bits}");
        if (BlockSize <= 0 || BlockSize % 2 != 0) throw new ArgumentException($"quant block size must be positive and even, got {BlockSize}");
    }
}

/// <summary>
/// LoRA adapter settings with PEFT's semantics (field names track <c>adapter_config.json</c>):
/// <paramref name="Targets"/> = target_modules as a suffix list (a path matches a name when it equals it or ends with
/// "." + name; <c>["all-linear"]</c> = every projection but the output head), <paramref name="TargetRegex"/> = target_modules
/// given as a regex (full match on the path, wins over the list), <paramref name="Exclude"/> = exclude_modules (suffix list),
/// <paramref name="RankPattern"/>/<paramref name="AlphaPattern"/> = per-module overrides (key k matches a path ending in k,
/// as a regex), <paramref name="Init"/> = "default" (kaiming-uniform A) or "gaussian" (A ~ N(0, 1/r)), <paramref name="Quant"/>
/// quantizes every projection's frozen base (QLoRA).
/// </summary>
public sealed record LoraSettings(
    int R,
    double Alpha,
    double Dropout,
    IReadOnlyList<string> Targets,
    string? TargetRegex,
    IReadOnlyList<string> Exclude,
    bool UseRslora,
    bool UseDora,
    IReadOnlyDictionary<string, int> RankPattern,
    IReadOnlyDictionary<string, double> AlphaPattern,
    string Init,
    QuantSettings? Quant)
{
    /// <summary>The PEFT shorthand for "every linear layer except the output head".</summary>
    public const string AllLinear = "all-linear";

    /// <summary>exclude_modules given as a regex (full match on the path); checked in addition to <see cref="Exclude"/>.</summary>
    public string? ExcludeRegex { get; init; }

    /// <summary>
    /// PEFT's modules_to_save: whole modules (by the same suffix rule, e.g. <c>embed_tokens</c>, <c>lm_head</c>) trained
    /// in full next to the adapters and saved in the adapter file under their own names.
    /// </summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = [];

    /// <summary>
    /// PEFT's ensure_weight_tying (0.18+): a saved copy of a tied embedding is also the output head. Null = not stated
    /// (written by TuneSharp or PEFT before 0.18); TuneSharp keeps a tied model's embedding and head one matrix either way.
    /// </summary>
    public bool? EnsureWeightTying { get; init; }

    /// <summary>PEFT's task_type: <c>CAUSAL_LM</c>, or <c>SEQ_CLS</c> for a reward model (its score head in modules_to_save).</summary>
    public string TaskType { get; init; } = CausalLmTask;

    public const string CausalLmTask = "CAUSAL_LM", SequenceClassificationTask = "SEQ_CLS";

    /// <summary>Whether <see cref="ModulesToSave"/> includes the input embedding (embed_tokens), which a tied model shares with its output head.</summary>
    public bool SavesEmbedding => ModulesToSave.Any(m => LoraPolicy.MatchesName("model.embed_tokens", m));

    /// <summary>Plain LoRA on <paramref name="targets"/> with PEFT's defaults (no dropout, no patterns, kaiming init).</summary>
    public static LoraSettings Create(int r, double alpha, params string[] targets) =>
        new(r, alpha, 0.0, targets, null, [], false, false,
            new Dictionary<string, int>(), new Dictionary<string, double>(), "default", null);

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (R <= 0) throw new ArgumentException($"LoRA r must be positive, got {R}");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"lora_dropout must be in [0, 1), got {Dropout}");
        if (Init is not ("default" or "gaussian")) throw new ArgumentException($"init_lora_weights must be 'default' or 'gaussian', got '{Init}'");
        if (TargetRegex is null && Targets.Count == 0) throw new ArgumentException("target_modules is empty: no projection would get an adapter");
        foreach (var (k, r) in RankPattern)
            if (r <= 0) throw new ArgumentException($"rank_pattern['{k}'] must be positive, got {r}");
        Quant?.Validate();
    }
}
