namespace TuneSharp.Training.Config;

/// <summary>
/// The whole <c>tunesharp train</c> configuration (one section per top-level YAML key). Each key is declared once, on
/// its property: <see cref="KeyAttribute"/> (name, example), the property type and initializer (conversion, default) and
/// its checks; binding, the resolved YAML and validation walk these declarations (<see cref="ConfigSchema"/>). Every key
/// has a row in docs/config.md (a test compares both). Rules between keys live in ConfigValidator.
/// </summary>
public sealed record TrainConfig
{
    [Section("model")] public required ModelSection Model { get; init; }
    [Section("method")] public required MethodSection Method { get; init; }
    [Section("data")] public DataSection Data { get; init; } = new();
    [Section("optimizer")] public OptimizerSection Optimizer { get; init; } = new();
    [Section("schedule")] public ScheduleSection Schedule { get; init; } = new();
    [Section("train")] public TrainSection Train { get; init; } = new();
    [Section("eval")] public EvalSection Eval { get; init; } = new();
    [Section("output")] public OutputSection Output { get; init; } = new();
    [Section("logging")] public LoggingSection Logging { get; init; } = new();
}

// ---------------------------------------------------------------- model

/// <summary><c>model:</c> which checkpoint to train and where.</summary>
public sealed record ModelSection
{
    /// <summary>Absolute path of a local model folder, or a hub id <c>org/name[@revision]</c>.</summary>
    [Key("path", Required = true, Type = typeof(ModelPathKey), Example = "other/model")]
    public required string Path { get; init; }
    [Key("dtype", Example = "fp32")]
    public DTypeChoice DType { get; init; } = DTypeChoice.Auto;
    [Key("device", Type = typeof(DeviceKey), Example = "cpu")]
    public DeviceSpec Device { get; init; } = DeviceSpec.Auto;
    /// <summary>An existing PEFT LoRA/DoRA adapter folder to continue training from (adapter methods only); its
    /// adapter_config.json decides rank, alpha, targets and DoRA, replacing <c>method.lora</c>.</summary>
    [Key("adapter", IsPath = true, Example = "prev/adapter")]
    public string? Adapter { get; init; }
}

/// <summary>Training dtype. Auto = bf16 when the CPU has avx512_bf16 or on CUDA, else fp32.</summary>
public enum DTypeChoice { Auto, Fp32, Bf16 }

/// <summary>Device kind of <see cref="DeviceSpec"/>.</summary>
public enum DeviceKind { Auto, Cpu, Cuda }

/// <summary>A device: <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
public sealed record DeviceSpec(DeviceKind Kind, int? Index = null)
{
    public static DeviceSpec Auto { get; } = new(DeviceKind.Auto);
    public static DeviceSpec Cpu { get; } = new(DeviceKind.Cpu);

    /// <summary>The config spelling, e.g. <c>cuda:1</c>.</summary>
    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        _ => Index is int i ? $"cuda:{i}" : "cuda",
    };

    /// <summary>Parses <c>auto | cpu | cuda | cuda:N</c> (case-insensitive); null when invalid.</summary>
    public static DeviceSpec? TryParse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t == "auto") return Auto;
        if (t == "cpu") return Cpu;
        if (t == "cuda") return new(DeviceKind.Cuda);
        if (t.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(t.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
            return new(DeviceKind.Cuda, n);
        return null;
    }
}

// ---------------------------------------------------------------- method

/// <summary>
/// <c>method:</c> what gets trained (<see cref="Type"/>: which parameters) and how (<see cref="Stage"/>: the recipe).
/// Each stage's own settings are one typed section named after it (<c>method.sft</c>, <c>method.pretrain</c>); a key of
/// another stage's section is an error. Adding a stage = an enum value, its section record and one property here.
/// </summary>
public sealed record MethodSection : IStaged
{
    [Key("type", Required = true, Example = "dora")]
    public required MethodType Type { get; init; }
    [Key("stage", Example = "pretrain")]
    public Stage Stage { get; init; } = Stage.Sft;
    /// <summary>Used only when <see cref="Type"/> is <see cref="MethodType.Freeze"/>.</summary>
    [Section("freeze", UsedWhen = nameof(UsesFreeze))]
    public FreezeSection Freeze { get; init; } = new();
    /// <summary>Used only for lora, dora and qlora.</summary>
    [Section("lora", UsedWhen = nameof(IsAdapter))]
    public LoraSection Lora { get; init; } = new();
    /// <summary>Used only for qlora.</summary>
    [Section("quant", UsedWhen = nameof(UsesQuant))]
    public QuantSection Quant { get; init; } = new();
    /// <summary><c>method.sft:</c> used only when <see cref="Stage"/> is sft.</summary>
    [StageSection(Stage.Sft)]
    public SftSection Sft { get; init; } = new();
    /// <summary><c>method.pretrain:</c> used only when <see cref="Stage"/> is pretrain.</summary>
    [StageSection(Stage.Pretrain)]
    public PretrainSection Pretrain { get; init; } = new();
    /// <summary><c>method.dpo:</c> used only when <see cref="Stage"/> is dpo.</summary>
    [StageSection(Stage.Dpo)]
    public DpoSection Dpo { get; init; } = new();
    /// <summary><c>method.orpo:</c> used only when <see cref="Stage"/> is orpo.</summary>
    [StageSection(Stage.Orpo)]
    public OrpoSection Orpo { get; init; } = new();
    /// <summary><c>method.simpo:</c> used only when <see cref="Stage"/> is simpo.</summary>
    [StageSection(Stage.Simpo)]
    public SimpoSection Simpo { get; init; } = new();
    /// <summary><c>method.kto:</c> used only when <see cref="Stage"/> is kto.</summary>
    [StageSection(Stage.Kto)]
    public KtoSection Kto { get; init; } = new();
    /// <summary><c>method.reward:</c> used only when <see cref="Stage"/> is reward.</summary>
    [StageSection(Stage.Reward)]
    public RewardSection Reward { get; init; } = new();

    /// <summary>True for the adapter methods (lora, dora, qlora).</summary>
    public bool IsAdapter => Type is MethodType.Lora or MethodType.Dora or MethodType.Qlora;
    /// <summary>Training holds a frozen copy of the starting weights as the reference policy: DPO and KTO on full or
    /// freeze runs, unless DPO's reference log-probs are precomputed (the copy is then gone before step 1).</summary>
    public bool HoldsReferenceCopy => !IsAdapter && (Stage == Stage.Kto || Stage == Stage.Dpo && !Dpo.PrecomputeRefLogProbs);
    public bool UsesFreeze => Type == MethodType.Freeze;
    public bool UsesQuant => Type == MethodType.Qlora;
}

/// <summary>Fine-tuning method.</summary>
public enum MethodType { Full, Freeze, Lora, Dora, Qlora }

/// <summary>Training objective: supervised fine-tuning on conversations, next-token pretraining on raw text, a preference
/// method on chosen/rejected pairs (DPO, ORPO, SimPO), KTO on completions labelled desirable or undesirable, or a reward
/// model (a scalar score head) trained on chosen/rejected pairs.</summary>
public enum Stage { Sft, Pretrain, Dpo, Orpo, Simpo, Kto, Reward }

/// <summary><c>method.sft:</c> which tokens of a conversation are trained, and what happens to long examples.</summary>
public sealed record SftSection
{
    [Key("train_on", Example = "all")]
    public TrainOn TrainOn { get; init; } = TrainOn.Assistant;
    [Key("truncation", Example = "drop")]
    public Truncation Truncation { get; init; } = Truncation.Truncate;
}

/// <summary><c>method.pretrain:</c> how raw text becomes documents before it is packed into token windows.</summary>
public sealed record PretrainSection
{
    [Key("text_split", Example = "paragraph", ExampleWith = "method.stage=pretrain")]
    public TextSplit TextSplit { get; init; } = TextSplit.File;
}

/// <summary><c>method.dpo:</c> the DPO objective (TRL DPOConfig names and defaults; docs/methods.md).</summary>
public sealed record DpoSection
{
    /// <summary>Strength of the KL penalty towards the reference model (the rewards' temperature).</summary>
    [Key("beta", Example = "0.5", ExampleWith = "method.stage=dpo"), Positive]
    public double Beta { get; init; } = 0.1;
    [Key("loss_type", Example = "ipo", ExampleWith = "method.stage=dpo")]
    public Losses.Preference.DpoLossType LossType { get; init; } = Losses.Preference.DpoLossType.Sigmoid;
    /// <summary>Assumed probability that a pair's labels are flipped (conservative DPO for sigmoid, robust DPO).</summary>
    [Key("label_smoothing", Example = "0.1", ExampleWith = "method.stage=dpo"), Range(0, 0.5)]
    public double LabelSmoothing { get; init; }
    /// <summary>RPO: weight of the NLL (mean per token) of the chosen answer, added to the DPO loss; null = off.</summary>
    [Key("rpo_alpha", Example = "1.0", ExampleWith = "method.stage=dpo"), Positive]
    public double? RpoAlpha { get; init; }
    /// <summary>Compare per-token mean log-probs instead of sums (length-normalised DPO: long answers are not favoured
    /// or penalised for their length). IPO always uses means.</summary>
    [Key("length_normalize", Example = "true", ExampleWith = "method.stage=dpo")]
    public bool LengthNormalize { get; init; }
    [Key("prompt_truncation", Example = "keep_start", ExampleWith = "method.stage=dpo")]
    public Data.Encoding.PromptTruncation PromptTruncation { get; init; } = Data.Encoding.PromptTruncation.KeepEnd;
    /// <summary>Compute the reference log-probs of every pair once before training (cached with the tokenized data)
    /// instead of a reference pass per batch; full and freeze runs then hold no reference copy while training.</summary>
    [Key("precompute_ref_log_probs", Example = "true", ExampleWith = "method.stage=dpo")]
    public bool PrecomputeRefLogProbs { get; init; }
}

/// <summary><c>method.orpo:</c> the ORPO objective (TRL ORPOConfig names and defaults; docs/methods.md).</summary>
public sealed record OrpoSection
{
    /// <summary>The paper's lambda: weight of the odds-ratio term added to the SFT loss of the chosen answer.</summary>
    [Key("beta", Example = "0.25", ExampleWith = "method.stage=orpo"), Positive]
    public double Beta { get; init; } = 0.1;
    [Key("prompt_truncation", Example = "keep_start", ExampleWith = "method.stage=orpo")]
    public Data.Encoding.PromptTruncation PromptTruncation { get; init; } = Data.Encoding.PromptTruncation.KeepEnd;
}

/// <summary><c>method.simpo:</c> the SimPO objective (TRL CPOConfig with loss_type simpo: names and defaults; docs/methods.md).</summary>
public sealed record SimpoSection
{
    /// <summary>Scale of the per-token mean log-prob margin (the rewards' temperature).</summary>
    [Key("beta", Example = "2.0", ExampleWith = "method.stage=simpo"), Positive]
    public double Beta { get; init; } = 0.1;
    /// <summary>Target reward margin (TRL <c>simpo_gamma</c>).</summary>
    [Key("gamma", Example = "1.0", ExampleWith = "method.stage=simpo"), Min(0)]
    public double Gamma { get; init; } = 0.5;
    /// <summary>Assumed probability that a pair's labels are flipped.</summary>
    [Key("label_smoothing", Example = "0.1", ExampleWith = "method.stage=simpo"), Range(0, 0.5)]
    public double LabelSmoothing { get; init; }
    [Key("prompt_truncation", Example = "keep_start", ExampleWith = "method.stage=simpo")]
    public Data.Encoding.PromptTruncation PromptTruncation { get; init; } = Data.Encoding.PromptTruncation.KeepEnd;
}

/// <summary><c>method.kto:</c> the KTO objective (TRL KTOConfig names and defaults; docs/methods.md).</summary>
public sealed record KtoSection
{
    /// <summary>Strength of the KL penalty towards the reference model (the rewards' temperature).</summary>
    [Key("beta", Example = "0.5", ExampleWith = "method.stage=kto"), Positive]
    public double Beta { get; init; } = 0.1;
    /// <summary>Weight of the loss of desirable completions (raise it when they are the rarer label).</summary>
    [Key("desirable_weight", Example = "1.33", ExampleWith = "method.stage=kto"), Positive]
    public double DesirableWeight { get; init; } = 1.0;
    /// <summary>Weight of the loss of undesirable completions.</summary>
    [Key("undesirable_weight", Example = "1.33", ExampleWith = "method.stage=kto"), Positive]
    public double UndesirableWeight { get; init; } = 1.0;
    [Key("prompt_truncation", Example = "keep_start", ExampleWith = "method.stage=kto")]
    public Data.Encoding.PromptTruncation PromptTruncation { get; init; } = Data.Encoding.PromptTruncation.KeepEnd;
}

/// <summary><c>method.reward:</c> the reward model's pairwise objective (TRL RewardConfig names; docs/methods.md).</summary>
public sealed record RewardSection
{
    /// <summary>Weight of the penalty pulling scores towards 0: coefficient x mean over pairs of (r_chosen + r_rejected)^2
    /// (Eisenstein et al. 2023); null = off.</summary>
    [Key("center_rewards_coefficient", Example = "0.01", ExampleWith = "method.stage=reward"), Positive]
    public double? CenterRewardsCoefficient { get; init; }
}

/// <summary><c>method.freeze:</c> which parts stay trainable when everything else is frozen.</summary>
public sealed record FreezeSection
{
    /// <summary>Decoder layer indices; negative counts from the end (-1 = last layer).</summary>
    [Key("trainable_layers", Example = "[-1]", ExampleWith = "method.type=freeze")]
    public ValueList<int> TrainableLayers { get; init; } = [];
    /// <summary>Module name patterns (suffix or regex), e.g. <c>mlp</c>, <c>lm_head</c>.</summary>
    [Key("trainable_modules", Example = "[mlp]", ExampleWith = "method.type=freeze"), Regex]
    public ValueList<string> TrainableModules { get; init; } = [];
}

/// <summary>Which linear layers get adapters: every linear layer except the output head, or a list of name suffixes.</summary>
public sealed record LoraTargets(bool AllLinear, ValueList<string> Suffixes)
{
    public static LoraTargets AllLinearLayers { get; } = new(true, []);
    public static LoraTargets None { get; } = new(false, []);
    public static LoraTargets Of(params string[] suffixes) => new(false, new ValueList<string>(suffixes));
    public bool IsEmpty => !AllLinear && Suffixes.Count == 0;
    public override string ToString() => AllLinear ? "all-linear" : Suffixes.ToString();
}

/// <summary>
/// Modules never adapted, as PEFT's <c>exclude_modules</c>: <see cref="Regex"/> (one string in YAML) is full-matched
/// against the module path; otherwise each of <see cref="Names"/> matches a path equal to it or ending in "." + name.
/// </summary>
public sealed record LoraExclude(string? Regex, ValueList<string> Names)
{
    public static LoraExclude None { get; } = new(null, []);
    public static LoraExclude Matching(string regex) => new(regex, []);
    public static LoraExclude Of(params string[] names) => new(null, new ValueList<string>(names));
    public override string ToString() => Regex ?? Names.ToString();
}

/// <summary>Initialisation of LoRA A/B.</summary>
public enum LoraInit { Default, Gaussian }

/// <summary><c>method.lora:</c> adapter hyper-parameters (PEFT semantics).</summary>
public sealed record LoraSection
{
    [Key("r", Example = "16"), Min(1)]
    public int R { get; init; } = 8;
    [Key("alpha", Example = "32"), Positive]
    public double Alpha { get; init; } = 16;
    [Key("dropout", Example = "0.1"), Range(0, 1)]
    public double Dropout { get; init; }
    /// <summary>Target modules by suffix, or all-linear. Empty when <see cref="TargetRegex"/> is used.</summary>
    [Key("targets", Type = typeof(TargetsKey), Example = "all-linear")]
    public LoraTargets Targets { get; init; } = LoraTargets.Of("q_proj", "k_proj", "v_proj", "o_proj");
    /// <summary>Full-path regex (alternative to <see cref="Targets"/>).</summary>
    [Key("target_regex", Example = "'.*q_proj'", ExampleWith = "method.lora.targets=null"), Regex]
    public string? TargetRegex { get; init; }
    [Key("exclude", Type = typeof(ExcludeKey), Example = "[q_proj]")]
    public LoraExclude Exclude { get; init; } = LoraExclude.None;
    /// <summary>Rank-stabilised scaling alpha/sqrt(r) instead of alpha/r.</summary>
    [Key("rslora", Example = "true")]
    public bool RsLora { get; init; }
    /// <summary>LoRA+: learning rate of B = ratio * lr.</summary>
    [Key("lora_plus_ratio", Example = "16"), Positive]
    public double? LoraPlusRatio { get; init; }
    [Key("modules_to_save", Example = "[embed_tokens]")]
    public ValueList<string> ModulesToSave { get; init; } = [];
    /// <summary>Per-pattern rank overrides (first matching pattern wins).</summary>
    [Key("rank_pattern", Example = "{q_proj: 4}"), Regex, Min(1)]
    public ValueMap<int> RankPattern { get; init; } = ValueMap<int>.Empty;
    [Key("alpha_pattern", Example = "{q_proj: 4}"), Regex, Positive]
    public ValueMap<double> AlphaPattern { get; init; } = ValueMap<double>.Empty;
    [Key("init", Example = "gaussian")]
    public LoraInit Init { get; init; } = LoraInit.Default;
}

/// <summary><c>method.quant:</c> QLoRA base-weight quantisation.</summary>
public sealed record QuantSection
{
    /// <summary>4 (NF4) or 8 (int8 absmax).</summary>
    [Key("bits", Example = "8", ExampleWith = "method.type=qlora"), OneOf("4 (NF4) or 8 (int8)", 4, 8)]
    public int Bits { get; init; } = 4;
    [Key("block_size", Example = "128", ExampleWith = "method.type=qlora"), PowerOfTwo]
    public int BlockSize { get; init; } = 64;
    [Key("double_quant", Example = "false", ExampleWith = "method.type=qlora")]
    public bool DoubleQuant { get; init; } = true;
}

// ---------------------------------------------------------------- data

/// <summary><c>data:</c> datasets, chat template and tokenisation.</summary>
public sealed record DataSection
{
    [Key("datasets", Type = typeof(DatasetListKey), Example = "[other.jsonl]")]
    public ValueList<DatasetSpec> Datasets { get; init; } = [];
    /// <summary>Absolute path of a separate validation file.</summary>
    [Key("val_path", IsPath = true, Example = "val.jsonl")]
    public string? ValPath { get; init; }
    /// <summary>Fraction of the training data held out for validation, in [0, 1).</summary>
    [Key("val_size", Example = "0.1"), Range(0, 1)]
    public double ValSize { get; init; }
    /// <summary>The chat template conversations are rendered with (sft; raw text has none).</summary>
    [Key("template", Type = typeof(TemplateKey), Example = "chatml")]
    public TemplateSpec Template { get; init; } = TemplateSpec.Auto;
    [Key("max_seq_len", Example = "512"), Min(2)]
    public int MaxSeqLen { get; init; } = 1024;
    [Key("packing", Example = "true")]
    public bool Packing { get; init; }
    [Key("shuffle", Example = "false")]
    public bool Shuffle { get; init; } = true;
    [Key("dedup", Example = "false")]
    public bool Dedup { get; init; } = true;
    /// <summary>Cap on the number of examples after mixing all datasets.</summary>
    [Key("max_samples", Example = "100"), Min(1)]
    public int? MaxSamples { get; init; }
    /// <summary>Scan the training data for poisoned tool calls, injections, secrets and personal data before the model
    /// loads (docs/safety.md); findings go into the start notes.</summary>
    [Key("safety_scan", Example = "false")]
    public bool SafetyScan { get; init; } = true;
    /// <summary>The run stops before loading the model when a safety finding of this severity or above exists.</summary>
    [Key("safety_fail_on", Example = "medium")]
    public SafetyFailOn SafetyFailOn { get; init; } = SafetyFailOn.High;
    /// <summary>Domains tool calls in the data may reach, added to the scanner's default allow-list.</summary>
    [Key("safety_allow_domains", Example = "[api.github.com]")]
    public ValueList<string> SafetyAllowDomains { get; init; } = [];
}

/// <summary><c>data.safety_fail_on</c>: the lowest finding severity that stops a run; <c>off</c> never stops.</summary>
public enum SafetyFailOn { Off, Low, Medium, High }

/// <summary>Record layout of a dataset file.</summary>
public enum DatasetFormat { Auto, Alpaca, Sharegpt, Messages, PromptCompletion, Text }

/// <summary>One entry of <c>data.datasets</c>.</summary>
public sealed record DatasetSpec
{
    /// <summary>Absolute path of the file (.jsonl, .json, .parquet, .csv, .txt) or folder.</summary>
    [Key("path", Required = true, IsPath = true, Example = "other.jsonl"), NotEmpty]
    public required string Path { get; init; }
    [Key("format", Example = "alpaca")]
    public DatasetFormat Format { get; init; } = DatasetFormat.Auto;
    /// <summary>Logical column name -> column name in the file (e.g. <c>prompt: question</c>).</summary>
    [Key("columns", Type = typeof(ColumnsKey), Example = "{prompt: question}")]
    public ValueMap<string> Columns { get; init; } = ValueMap<string>.Empty;
    /// <summary>Relative sampling weight when mixing datasets.</summary>
    [Key("weight", Example = "2"), Positive]
    public double Weight { get; init; } = 1.0;
    [Key("max_samples", Example = "10"), Min(1)]
    public int? MaxSamples { get; init; }
    /// <summary>The split (train, validation, test, ...) whose files a folder dataset reads, by the Hugging Face file-name rules.</summary>
    [Key("split", Example = "train")]
    public string? Split { get; init; }

    /// <summary>The logical column names accepted in <see cref="Columns"/>.</summary>
    public static IReadOnlyList<string> ColumnNames { get; } =
    [
        "instruction", "input", "output", "system", "history", // alpaca
        "messages", "role", "content", "user", "assistant",   // sharegpt / messages (tags and fields)
        "prompt", "completion", "text",
    ];
}

/// <summary>Built-in chat templates, or a Jinja file.</summary>
public enum TemplateKind { Auto, Chatml, Llama3, Mistral, Alpaca, Plain, File }

/// <summary><c>data.template</c>: a built-in name or (for <see cref="TemplateKind.File"/>) an absolute .jinja path.</summary>
public sealed record TemplateSpec(TemplateKind Kind, string? Path = null)
{
    public static TemplateSpec Auto { get; } = new(TemplateKind.Auto);
    public override string ToString() => Kind == TemplateKind.File ? Path! : ConfigNames.Of(Kind);
}

// TrainOn and Truncation are the data layer's enums (TuneSharp.Data.Encoding), see GlobalUsings.cs.

// ---------------------------------------------------------------- optimisation

/// <summary>Optimizer algorithm (docs/training-math.md has each update rule).</summary>
public enum OptimizerName
{
    [ConfigName("adamw")] AdamW,
    Adam,
    Sgd,
    Adafactor,
    [ConfigName("adamw_8bit")] AdamW8bit,
}

/// <summary>Which <c>optimizer:</c> keys an algorithm reads; the validator rejects the others when they are set, so a
/// value meant for another algorithm is never silently ignored.</summary>
public static class OptimizerKeys
{
    public static bool UsesBetas(this OptimizerName n) => n is OptimizerName.AdamW or OptimizerName.Adam or OptimizerName.AdamW8bit;
    public static bool UsesEps(this OptimizerName n) => n.UsesBetas();
    public static bool UsesMomentum(this OptimizerName n) => n is OptimizerName.Sgd;
}

/// <summary><c>optimizer:</c></summary>
public sealed record OptimizerSection
{
    [Key("name", Example = "sgd")]
    public OptimizerName Name { get; init; } = OptimizerName.AdamW;
    [Key("lr", Example = "1.0e-3"), Positive]
    public double Lr { get; init; } = 2.0e-4;
    [Key("weight_decay", Example = "0.1"), Min(0)]
    public double WeightDecay { get; init; }
    /// <summary>Adam betas (beta1, beta2): adamw, adam, adamw_8bit.</summary>
    [Key("betas", Example = "[0.8, 0.9]"), Range(0, 1)]
    public ValueList<double> Betas { get; init; } = [0.9, 0.999];
    /// <summary>Adam epsilon: adamw, adam, adamw_8bit.</summary>
    [Key("eps", Example = "1.0e-6"), Positive]
    public double Eps { get; init; } = 1.0e-8;
    /// <summary>SGD momentum (sgd only).</summary>
    [Key("momentum", Example = "0.9", ExampleWith = "optimizer.name=sgd"), Range(0, 1)]
    public double Momentum { get; init; }
    /// <summary>Parameter-name substrings excluded from weight decay.</summary>
    [Key("no_decay", Example = "[bias]")]
    public ValueList<string> NoDecay { get; init; } = ["bias", "norm", "embed"];
}

/// <summary>Learning-rate schedule shape after warmup.</summary>
public enum ScheduleType { Constant, Linear, Cosine, CosineWithMinLr, Wsd }

/// <summary><c>schedule:</c></summary>
public sealed record ScheduleSection
{
    [Key("type", Example = "linear")]
    public ScheduleType Type { get; init; } = ScheduleType.Cosine;
    [Key("warmup_steps", Example = "2"), Min(0)]
    public int? WarmupSteps { get; init; }
    [Key("warmup_ratio", Example = "0.1"), Range(0, 1)]
    public double WarmupRatio { get; init; }
    /// <summary>Final lr as a fraction of the peak (cosine_with_min_lr, wsd).</summary>
    [Key("min_lr_ratio", Example = "0.1", ExampleWith = "schedule.type=cosine_with_min_lr"), Range(0, 1, HiInclusive = true)]
    public double MinLrRatio { get; init; }
    /// <summary>wsd: fraction of the steps spent in the final decay.</summary>
    [Key("decay_ratio", Example = "0.2", ExampleWith = "schedule.type=wsd"), Range(0, 1, LoExclusive = true, HiInclusive = true)]
    public double DecayRatio { get; init; } = 0.1;
}

/// <summary><c>train:</c> loop length and batch shape.</summary>
public sealed record TrainSection
{
    [Key("epochs", Example = "2", ExampleWith = "train.max_steps=null"), Positive]
    public double? Epochs { get; init; }
    [Key("max_steps", Example = "20"), Min(1)]
    public int? MaxSteps { get; init; }
    [Key("micro_batch_size", Example = "8"), Min(1)]
    public int MicroBatchSize { get; init; } = 4;
    [Key("grad_accum", Example = "2"), Min(1)]
    public int GradAccum { get; init; } = 1;
    /// <summary>Gradient clipping norm; null = no clipping.</summary>
    [Key("max_grad_norm", Example = "null"), Positive]
    public double? MaxGradNorm { get; init; } = 1.0;
    [Key("seed", Example = "7"), Min(0)]
    public int Seed { get; init; } = 42;
    [Key("grad_checkpointing", Example = "true")]
    public bool GradCheckpointing { get; init; }
}

/// <summary><c>eval:</c></summary>
public sealed record EvalSection
{
    /// <summary>Evaluate every N optimizer steps; null = only at the end.</summary>
    [Key("every_steps", Example = "5", ExampleWith = "data.val_size=0.1"), Min(1)]
    public int? EverySteps { get; init; }
    [Key("at_end", Example = "false")]
    public bool AtEnd { get; init; } = true;
    [Key("max_batches", Example = "3"), Min(1)]
    public int? MaxBatches { get; init; }
    /// <summary>Stop after this many evaluations without improvement of the validation loss.</summary>
    [Key("early_stopping_patience", Example = "2", ExampleWith = "data.val_size=0.1;eval.every_steps=5"), Min(1)]
    public int? EarlyStoppingPatience { get; init; }
    /// <summary>Prompts generated before and after training and shown in the summary.</summary>
    [Key("samples", Example = "[Hello]"), NotEmpty]
    public ValueList<string> Samples { get; init; } = [];
    /// <summary>General benchmarks run before and after training (the forgetting check); null = the default suite
    /// (<see cref="Forgetting.ForgettingCheck.DefaultSuite"/>), [] = off.</summary>
    [Key("benchmarks", Example = "[arc_easy]")]
    public ValueList<string>? Benchmarks { get; init; }
    /// <summary>Items per benchmark (the first N); null = all.</summary>
    [Key("benchmark_limit", Example = "20"), Min(1)]
    public int? BenchmarkLimit { get; init; } = 100;
    /// <summary>Folder of the benchmarks' data (one folder per dataset, docs/eval.md); null = the default search.</summary>
    [Key("benchmark_data", Example = "eval-data")]
    public string? BenchmarkData { get; init; }
    /// <summary>A metric that drops by more than this (points for accuracies, relative for perplexities) is a warning.</summary>
    [Key("forgetting_threshold", Example = "0.05"), Range(0, 1)]
    public double ForgettingThreshold { get; init; } = 0.02;
}

/// <summary>What to do when the output folder already has checkpoints.</summary>
public enum ResumeMode { Auto, Never, Force }

/// <summary><c>output:</c></summary>
public sealed record OutputSection
{
    /// <summary>Absolute output folder, placeholders already substituted.</summary>
    [Key("dir", Example = "out"), NotEmpty]
    public string Dir { get; init; } = "runs/{model}-{method}";
    [Key("save_every_steps", Example = "5"), Min(1)]
    public int? SaveEverySteps { get; init; }
    /// <summary>Number of intermediate checkpoints kept; null keeps all.</summary>
    [Key("keep_last", Example = "null"), Min(1)]
    public int? KeepLast { get; init; } = 2;
    [Key("resume", Example = "never")]
    public ResumeMode Resume { get; init; } = ResumeMode.Auto;
    [Key("save_merged", Example = "true")]
    public bool SaveMerged { get; init; }
}

/// <summary>Console progress display.</summary>
public enum ProgressMode { Auto, Bar, Plain, None }

/// <summary><c>logging:</c></summary>
public sealed record LoggingSection
{
    [Key("every_steps", Example = "5"), Min(1)]
    public int EverySteps { get; init; } = 1;
    [Key("jsonl", Example = "false")]
    public bool Jsonl { get; init; } = true;
    [Key("tensorboard", Example = "false")]
    public bool Tensorboard { get; init; } = true;
    [Key("plot", Example = "false")]
    public bool Plot { get; init; } = true;
    [Key("progress", Example = "plain")]
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
}
