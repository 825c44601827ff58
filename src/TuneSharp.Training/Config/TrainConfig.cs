namespace TuneSharp.Training.Config;

/// <summary>The whole <c>tunesharp train</c> configuration (one section per top-level YAML key). See docs/config.md.</summary>
public sealed record TrainConfig
{
    public required ModelSection Model { get; init; }
    public required MethodSection Method { get; init; }
    public DataSection Data { get; init; } = new();
    public OptimizerSection Optimizer { get; init; } = new();
    public ScheduleSection Schedule { get; init; } = new();
    public TrainSection Train { get; init; } = new();
    public EvalSection Eval { get; init; } = new();
    public OutputSection Output { get; init; } = new();
    public LoggingSection Logging { get; init; } = new();
}

// ---------------------------------------------------------------- model

/// <summary><c>model:</c> which checkpoint to train and where.</summary>
public sealed record ModelSection
{
    /// <summary>Absolute path of a local model folder, or a hub id <c>org/name[@revision]</c>.</summary>
    public required string Path { get; init; }
    public DTypeChoice DType { get; init; } = DTypeChoice.Auto;
    public DeviceSpec Device { get; init; } = DeviceSpec.Auto;
    /// <summary>An existing PEFT LoRA/DoRA adapter folder to continue training from (adapter methods only); its
    /// adapter_config.json decides rank, alpha, targets and DoRA, replacing <c>method.lora</c>.</summary>
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

/// <summary><c>method:</c> what gets trained.</summary>
public sealed record MethodSection
{
    public required MethodType Type { get; init; }
    public Stage Stage { get; init; } = Stage.Sft;
    /// <summary>Used only when <see cref="Type"/> is <see cref="MethodType.Freeze"/>.</summary>
    public FreezeSection Freeze { get; init; } = new();
    /// <summary>Used only for lora, dora and qlora.</summary>
    public LoraSection Lora { get; init; } = new();
    /// <summary>Used only for qlora.</summary>
    public QuantSection Quant { get; init; } = new();

    /// <summary>True for the adapter methods (lora, dora, qlora).</summary>
    public bool IsAdapter => Type is MethodType.Lora or MethodType.Dora or MethodType.Qlora;
}

/// <summary>Fine-tuning method.</summary>
public enum MethodType { Full, Freeze, Lora, Dora, Qlora }

/// <summary>Training objective: supervised fine-tuning on conversations, or next-token pretraining on raw text.</summary>
public enum Stage { Sft, Pretrain }

/// <summary><c>method.freeze:</c> which parts stay trainable when everything else is frozen.</summary>
public sealed record FreezeSection
{
    /// <summary>Decoder layer indices; negative counts from the end (-1 = last layer).</summary>
    public ValueList<int> TrainableLayers { get; init; } = [];
    /// <summary>Module name patterns (suffix or regex), e.g. <c>mlp</c>, <c>lm_head</c>.</summary>
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

/// <summary>Initialisation of LoRA A/B.</summary>
public enum LoraInit { Default, Gaussian }

/// <summary><c>method.lora:</c> adapter hyper-parameters (PEFT semantics).</summary>
public sealed record LoraSection
{
    public int R { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; }
    /// <summary>Target modules by suffix, or all-linear. Empty when <see cref="TargetRegex"/> is used.</summary>
    public LoraTargets Targets { get; init; } = LoraTargets.Of("q_proj", "k_proj", "v_proj", "o_proj");
    /// <summary>Full-path regex (alternative to <see cref="Targets"/>).</summary>
    public string? TargetRegex { get; init; }
    public ValueList<string> Exclude { get; init; } = [];
    /// <summary>Rank-stabilised scaling alpha/sqrt(r) instead of alpha/r.</summary>
    public bool RsLora { get; init; }
    /// <summary>LoRA+: learning rate of B = ratio * lr.</summary>
    public double? LoraPlusRatio { get; init; }
    public ValueList<string> ModulesToSave { get; init; } = [];
    /// <summary>Per-pattern rank overrides (first matching pattern wins).</summary>
    public ValueMap<int> RankPattern { get; init; } = ValueMap<int>.Empty;
    public ValueMap<double> AlphaPattern { get; init; } = ValueMap<double>.Empty;
    public LoraInit Init { get; init; } = LoraInit.Default;
}

/// <summary><c>method.quant:</c> QLoRA base-weight quantisation.</summary>
public sealed record QuantSection
{
    /// <summary>4 (NF4) or 8 (int8 absmax).</summary>
    public int Bits { get; init; } = 4;
    public int BlockSize { get; init; } = 64;
    public bool DoubleQuant { get; init; } = true;
}

// ---------------------------------------------------------------- data

/// <summary><c>data:</c> datasets, chat template and tokenisation.</summary>
public sealed record DataSection
{
    public ValueList<DatasetSpec> Datasets { get; init; } = [];
    /// <summary>Absolute path of a separate validation file.</summary>
    public string? ValPath { get; init; }
    /// <summary>Fraction of the training data held out for validation, in [0, 1).</summary>
    public double ValSize { get; init; }
    public TemplateSpec Template { get; init; } = TemplateSpec.Auto;
    public int MaxSeqLen { get; init; } = 1024;
    public bool Packing { get; init; }
    public TrainOn TrainOn { get; init; } = TrainOn.Assistant;
    public Truncation Truncation { get; init; } = Truncation.Truncate;
    public bool Shuffle { get; init; } = true;
    public bool Dedup { get; init; } = true;
    /// <summary>Cap on the number of examples after mixing all datasets.</summary>
    public int? MaxSamples { get; init; }
}

/// <summary>Record layout of a dataset file.</summary>
public enum DatasetFormat { Auto, Alpaca, Sharegpt, Messages, PromptCompletion, Text }

/// <summary>One entry of <c>data.datasets</c>.</summary>
public sealed record DatasetSpec
{
    /// <summary>Absolute path of the file (.jsonl, .json, .parquet, .csv, .txt) or folder.</summary>
    public required string Path { get; init; }
    public DatasetFormat Format { get; init; } = DatasetFormat.Auto;
    /// <summary>Logical column name -> column name in the file (e.g. <c>prompt: question</c>).</summary>
    public ValueMap<string> Columns { get; init; } = ValueMap<string>.Empty;
    /// <summary>Relative sampling weight when mixing datasets.</summary>
    public double Weight { get; init; } = 1.0;
    public int? MaxSamples { get; init; }
    /// <summary>Split name for folder datasets with several splits (e.g. <c>train</c>).</summary>
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
    public OptimizerName Name { get; init; } = OptimizerName.AdamW;
    public double Lr { get; init; } = 2.0e-4;
    public double WeightDecay { get; init; }
    /// <summary>Adam betas (beta1, beta2): adamw, adam, adamw_8bit.</summary>
    public ValueList<double> Betas { get; init; } = [0.9, 0.999];
    /// <summary>Adam epsilon: adamw, adam, adamw_8bit.</summary>
    public double Eps { get; init; } = 1.0e-8;
    /// <summary>SGD momentum (sgd only).</summary>
    public double Momentum { get; init; }
    /// <summary>Parameter-name substrings excluded from weight decay.</summary>
    public ValueList<string> NoDecay { get; init; } = ["bias", "norm", "embed"];
}

/// <summary>Learning-rate schedule shape after warmup.</summary>
public enum ScheduleType { Constant, Linear, Cosine, CosineWithMinLr, Wsd }

/// <summary><c>schedule:</c></summary>
public sealed record ScheduleSection
{
    public ScheduleType Type { get; init; } = ScheduleType.Cosine;
    public int? WarmupSteps { get; init; }
    public double WarmupRatio { get; init; }
    /// <summary>Final lr as a fraction of the peak (cosine_with_min_lr, wsd).</summary>
    public double MinLrRatio { get; init; }
    /// <summary>wsd: fraction of the steps spent in the final decay.</summary>
    public double DecayRatio { get; init; } = 0.1;
}

/// <summary><c>train:</c> loop length and batch shape.</summary>
public sealed record TrainSection
{
    public double? Epochs { get; init; }
    public int? MaxSteps { get; init; }
    public int MicroBatchSize { get; init; } = 4;
    public int GradAccum { get; init; } = 1;
    /// <summary>Gradient clipping norm; null = no clipping.</summary>
    public double? MaxGradNorm { get; init; } = 1.0;
    public int Seed { get; init; } = 42;
    public bool GradCheckpointing { get; init; }
}

/// <summary><c>eval:</c></summary>
public sealed record EvalSection
{
    /// <summary>Evaluate every N optimizer steps; null = only at the end.</summary>
    public int? EverySteps { get; init; }
    public bool AtEnd { get; init; } = true;
    public int? MaxBatches { get; init; }
    /// <summary>Stop after this many evaluations without improvement of the validation loss.</summary>
    public int? EarlyStoppingPatience { get; init; }
    /// <summary>Prompts generated before and after training and shown in the summary.</summary>
    public ValueList<string> Samples { get; init; } = [];
}

/// <summary>What to do when the output folder already has checkpoints.</summary>
public enum ResumeMode { Auto, Never, Force }

/// <summary><c>output:</c></summary>
public sealed record OutputSection
{
    /// <summary>Absolute output folder, placeholders already substituted.</summary>
    public string Dir { get; init; } = "runs/{model}-{method}";
    public int? SaveEverySteps { get; init; }
    /// <summary>Number of intermediate checkpoints kept; null keeps all.</summary>
    public int? KeepLast { get; init; } = 2;
    public ResumeMode Resume { get; init; } = ResumeMode.Auto;
    public bool SaveMerged { get; init; }
}

/// <summary>Console progress display.</summary>
public enum ProgressMode { Auto, Bar, Plain, None }

/// <summary><c>logging:</c></summary>
public sealed record LoggingSection
{
    public int EverySteps { get; init; } = 1;
    public bool Jsonl { get; init; } = true;
    public bool Tensorboard { get; init; } = true;
    public bool Plot { get; init; } = true;
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;
}
