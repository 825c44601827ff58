using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

/// <summary>Binds the YAML representation tree to <see cref="TrainConfig"/>, one method per section.</summary>
internal static partial class ConfigBinder
{
    public static TrainConfig Bind(BindContext ctx, YamlNode root)
    {
        var r = new MapReader(ctx, "", root);
        var model = r.Section("model", BindModel);
        var method = r.Section("method", BindMethod);
        var config = new TrainConfig
        {
            Model = model,
            Method = method,
            Data = r.Section("data", m => BindData(m)),
            Optimizer = r.Section("optimizer", BindOptimizer),
            Schedule = r.Section("schedule", BindSchedule),
            Train = r.Section("train", BindTrain),
            Eval = r.Section("eval", BindEval),
            Output = r.Section("output", m => BindOutput(m, model, method)),
            Logging = r.Section("logging", BindLogging),
        };
        r.Done();
        return config;
    }

    static ModelSection BindModel(MapReader m)
    {
        var d = new ModelSection { Path = "" };
        var pathNode = m.Required("path");
        string path = "";
        if (pathNode != null)
        {
            if (YamlScalars.TryString(pathNode, out string raw) && raw.Trim().Length > 0) path = ResolveModelPath(m.Context.BaseDirOf(pathNode), raw.Trim());
            else m.Context.Error(pathNode, m.Full("path"), $"'{m.Full("path")}' must be a folder or a hub id org/name[@revision], found {YamlScalars.Describe(pathNode)}");
        }
        var device = d.Device;
        if (m.Get("device") is YamlNode dn)
        {
            if (YamlScalars.TryString(dn, out string t) && DeviceSpec.TryParse(t) is DeviceSpec ds) device = ds;
            else m.Context.Error(dn, m.Full("device"), $"'{m.Full("device")}' must be auto, cpu, cuda or cuda:N; found {YamlScalars.Describe(dn)}");
        }
        string? adapter = m.StringOrNull("adapter", d.Adapter);
        return new ModelSection
        {
            Path = path, DType = m.Enum("dtype", d.DType), Device = device,
            Adapter = adapter == null ? null : ResolvePath(m.Context.BaseDirOf(m.Context.ValueNodes.GetValueOrDefault(m.Full("adapter"))), adapter),
        };
    }

    static MethodSection BindMethod(MapReader m)
    {
        var typeNode = m.Required("type");
        var type = typeNode == null ? MethodType.Lora : m.ConvertEnum(typeNode, m.Full("type"), MethodType.Lora);
        return new MethodSection
        {
            Type = type,
            Stage = m.Enum("stage", Stage.Sft),
            Freeze = m.Section("freeze", BindFreeze),
            Lora = m.Section("lora", BindLora),
            Quant = m.Section("quant", BindQuant),
        };
    }

    static FreezeSection BindFreeze(MapReader m) => new()
    {
        TrainableLayers = m.List("trainable_layers", ValueList<int>.Empty, "an integer", YamlScalars.TryInt),
        TrainableModules = m.Strings("trainable_modules", ValueList<string>.Empty),
    };

    static LoraSection BindLora(MapReader m)
    {
        var d = new LoraSection();
        string? regex = m.StringOrNull("target_regex", d.TargetRegex);
        // With a regex and no explicit targets, the default suffix list does not apply.
        var targets = regex != null ? LoraTargets.None : d.Targets;
        if (m.Get("targets") is YamlNode tn)
        {
            if (YamlScalars.TryString(tn, out string s) && s.Equals("all-linear", StringComparison.OrdinalIgnoreCase))
                targets = LoraTargets.AllLinearLayers;
            else if (tn is YamlSequenceNode || YamlScalars.IsNull(tn))
                targets = YamlScalars.IsNull(tn) ? LoraTargets.None
                    : new LoraTargets(false, m.ConvertList(tn, m.Full("targets"), ValueList<string>.Empty, "a string", YamlScalars.TryString));
            else
                m.Context.Error(tn, m.Full("targets"), $"'{m.Full("targets")}' must be a list of module name suffixes or 'all-linear', found {YamlScalars.Describe(tn)}");
        }
        return new LoraSection
        {
            R = m.Int("r", d.R),
            Alpha = m.Double("alpha", d.Alpha),
            Dropout = m.Double("dropout", d.Dropout),
            Targets = targets,
            TargetRegex = regex,
            Exclude = m.Strings("exclude", d.Exclude),
            RsLora = m.Bool("rslora", d.RsLora),
            LoraPlusRatio = m.DoubleOrNull("lora_plus_ratio", d.LoraPlusRatio),
            ModulesToSave = m.Strings("modules_to_save", d.ModulesToSave),
            RankPattern = m.Map("rank_pattern", d.RankPattern, "an integer", YamlScalars.TryInt),
            AlphaPattern = m.Map("alpha_pattern", d.AlphaPattern, "a number", YamlScalars.TryDouble),
            Init = m.Enum("init", d.Init),
        };
    }

    static QuantSection BindQuant(MapReader m)
    {
        var d = new QuantSection();
        return new QuantSection
        {
            Bits = m.Int("bits", d.Bits),
            BlockSize = m.Int("block_size", d.BlockSize),
            DoubleQuant = m.Bool("double_quant", d.DoubleQuant),
        };
    }

    static DataSection BindData(MapReader m)
    {
        var d = new DataSection();
        var datasets = d.Datasets;
        if (m.Get("datasets") is YamlNode dn)
        {
            if (dn is YamlSequenceNode seq)
                datasets = new ValueList<DatasetSpec>(seq.Children.Select((item, i) => BindDataset(m.Context, $"{m.Full("datasets")}[{i}]", item)));
            else
                m.Context.Error(dn, m.Full("datasets"), $"'{m.Full("datasets")}' must be a list of datasets, found {YamlScalars.Describe(dn)}");
        }
        string? valPath = m.StringOrNull("val_path", d.ValPath);
        return new DataSection
        {
            Datasets = datasets,
            ValPath = valPath == null ? null : ResolvePath(m.Context.BaseDirOf(m.Context.ValueNodes.GetValueOrDefault(m.Full("val_path"))), valPath),
            ValSize = m.Double("val_size", d.ValSize),
            Template = BindTemplate(m, d.Template),
            MaxSeqLen = m.Int("max_seq_len", d.MaxSeqLen),
            Packing = m.Bool("packing", d.Packing),
            TrainOn = m.Enum("train_on", d.TrainOn),
            Truncation = m.Enum("truncation", d.Truncation),
            Shuffle = m.Bool("shuffle", d.Shuffle),
            Dedup = m.Bool("dedup", d.Dedup),
            MaxSamples = m.IntOrNull("max_samples", d.MaxSamples),
        };
    }

    /// <summary>A dataset entry: a mapping, or just its path as a string.</summary>
    static DatasetSpec BindDataset(BindContext ctx, string path, YamlNode node)
    {
        ctx.ValueNodes[path] = node;
        if (node is YamlScalarNode && YamlScalars.TryString(node, out string only))
            return new DatasetSpec { Path = ResolvePath(ctx.BaseDirOf(node), only) };
        var m = new MapReader(ctx, path, node);
        var d = new DatasetSpec { Path = "" };
        var pathNode = m.Required("path");
        string file = pathNode != null && YamlScalars.TryString(pathNode, out string p) ? ResolvePath(ctx.BaseDirOf(pathNode), p) : "";
        var spec = new DatasetSpec
        {
            Path = file,
            Format = m.Enum("format", d.Format),
            Columns = m.Section("columns", c =>
            {
                var pairs = new List<KeyValuePair<string, string>>();
                foreach (string name in DatasetSpec.ColumnNames)
                    if (c.StringOrNull(name, null) is string column) pairs.Add(new(name, column));
                return new ValueMap<string>(pairs);
            }),
            Weight = m.Double("weight", d.Weight),
            MaxSamples = m.IntOrNull("max_samples", d.MaxSamples),
            Split = m.StringOrNull("split", d.Split),
        };
        m.Done();
        return spec;
    }

    static TemplateSpec BindTemplate(MapReader m, TemplateSpec fallback)
    {
        if (m.Get("template") is not YamlNode node) return fallback;
        string key = m.Full("template");
        if (YamlScalars.TryString(node, out string text))
        {
            if (text.EndsWith(".jinja", StringComparison.OrdinalIgnoreCase) || text.EndsWith(".j2", StringComparison.OrdinalIgnoreCase) ||
                text.Contains('/') || text.Contains('\\'))
                return new TemplateSpec(TemplateKind.File, ResolvePath(m.Context.BaseDirOf(node), text));
            if (ConfigNames.TryParse(text, out TemplateKind kind) && kind != TemplateKind.File) return new TemplateSpec(kind);
        }
        var names = ConfigNames.All<TemplateKind>().Where(n => n != ConfigNames.Of(TemplateKind.File)).ToList();
        string hint = YamlScalars.TryString(node, out string t) && ConfigNames.Suggest(t, names) is string near ? $" (did you mean '{near}'?)" : "";
        m.Context.Error(node, key, $"'{key}' must be one of {string.Join(", ", names)} or a path to a .jinja file; found {YamlScalars.Describe(node)}{hint}");
        return fallback;
    }

    static OptimizerSection BindOptimizer(MapReader m)
    {
        var d = new OptimizerSection();
        return new OptimizerSection
        {
            Name = m.Enum("name", d.Name),
            Lr = m.Double("lr", d.Lr),
            WeightDecay = m.Double("weight_decay", d.WeightDecay),
            Betas = m.List("betas", d.Betas, "a number", YamlScalars.TryDouble),
            Eps = m.Double("eps", d.Eps),
            Momentum = m.Double("momentum", d.Momentum),
            NoDecay = m.Strings("no_decay", d.NoDecay),
        };
    }

    static ScheduleSection BindSchedule(MapReader m)
    {
        var d = new ScheduleSection();
        return new ScheduleSection
        {
            Type = m.Enum("type", d.Type),
            WarmupSteps = m.IntOrNull("warmup_steps", d.WarmupSteps),
            WarmupRatio = m.Double("warmup_ratio", d.WarmupRatio),
            MinLrRatio = m.Double("min_lr_ratio", d.MinLrRatio),
            DecayRatio = m.Double("decay_ratio", d.DecayRatio),
        };
    }

    static TrainSection BindTrain(MapReader m)
    {
        var d = new TrainSection();
        return new TrainSection
        {
            Epochs = m.DoubleOrNull("epochs", d.Epochs),
            MaxSteps = m.IntOrNull("max_steps", d.MaxSteps),
            MicroBatchSize = m.Int("micro_batch_size", d.MicroBatchSize),
            GradAccum = m.Int("grad_accum", d.GradAccum),
            MaxGradNorm = m.DoubleOrNull("max_grad_norm", d.MaxGradNorm),
            Seed = m.Int("seed", d.Seed),
            GradCheckpointing = m.Bool("grad_checkpointing", d.GradCheckpointing),
        };
    }

    static EvalSection BindEval(MapReader m)
    {
        var d = new EvalSection();
        return new EvalSection
        {
            EverySteps = m.IntOrNull("every_steps", d.EverySteps),
            AtEnd = m.Bool("at_end", d.AtEnd),
            MaxBatches = m.IntOrNull("max_batches", d.MaxBatches),
            EarlyStoppingPatience = m.IntOrNull("early_stopping_patience", d.EarlyStoppingPatience),
            Samples = m.Strings("samples", d.Samples),
        };
    }

    static OutputSection BindOutput(MapReader m, ModelSection model, MethodSection method)
    {
        var d = new OutputSection();
        string dir = m.String("dir", d.Dir);
        return new OutputSection
        {
            Dir = ResolvePath(m.Context.BaseDirOf(m.Context.ValueNodes.GetValueOrDefault(m.Full("dir"))), ExpandPlaceholders(m, dir, model, method)),
            SaveEverySteps = m.IntOrNull("save_every_steps", d.SaveEverySteps),
            KeepLast = m.IntOrNull("keep_last", d.KeepLast),
            Resume = m.Enum("resume", d.Resume),
            SaveMerged = m.Bool("save_merged", d.SaveMerged),
        };
    }

    static LoggingSection BindLogging(MapReader m)
    {
        var d = new LoggingSection();
        return new LoggingSection
        {
            EverySteps = m.Int("every_steps", d.EverySteps),
            Jsonl = m.Bool("jsonl", d.Jsonl),
            Tensorboard = m.Bool("tensorboard", d.Tensorboard),
            Plot = m.Bool("plot", d.Plot),
            Progress = m.Enum("progress", d.Progress),
        };
    }

    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex PlaceholderRegex();

    static readonly string[] Placeholders = ["model", "method", "date"];

    /// <summary>Substitutes {model} (model folder or hub name), {method} (method.type) and {date} (yyyyMMdd-HHmmss).</summary>
    static string ExpandPlaceholders(MapReader m, string dir, ModelSection model, MethodSection method) =>
        PlaceholderRegex().Replace(dir, match => match.Groups[1].Value switch
        {
            "model" => ModelName(model.Path),
            "method" => ConfigNames.Of(method.Type),
            "date" => m.Context.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture),
            var other => UnknownPlaceholder(m, other, match.Value),
        });

    static string UnknownPlaceholder(MapReader m, string name, string text)
    {
        string hint = ConfigNames.Suggest(name, Placeholders) is string near ? $" (did you mean '{{{near}}}'?)" : "";
        m.Context.ErrorAt(m.Full("dir"), $"'{m.Full("dir")}' has an unknown placeholder '{text}'{hint}; valid: {{model}}, {{method}}, {{date}}");
        return text;
    }

    /// <summary>Last path segment of a folder or hub id, without the @revision.</summary>
    public static string ModelName(string path)
    {
        string p = path.TrimEnd('/', '\\');
        if (IsHubId(p)) p = p.Split('@')[0];
        int slash = p.LastIndexOfAny(['/', '\\']);
        return slash >= 0 ? p[(slash + 1)..] : p;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$")]
    private static partial Regex HubIdRegex();

    public static bool IsHubId(string text) => HubIdRegex().IsMatch(text);

    /// <summary>
    /// model.path: an absolute path, <c>~/x</c>, or a folder that exists relative to the config becomes an absolute path;
    /// otherwise a string shaped like <c>org/name[@revision]</c> stays a hub id; anything else is a local path.
    /// </summary>
    static string ResolveModelPath(string baseDir, string raw)
    {
        string expanded = ExpandHome(raw);
        if (Path.IsPathRooted(expanded)) return Path.GetFullPath(expanded);
        if (Directory.Exists(Path.Combine(baseDir, expanded))) return Path.GetFullPath(Path.Combine(baseDir, expanded));
        return IsHubId(raw) ? raw : Path.GetFullPath(Path.Combine(baseDir, expanded));
    }

    /// <summary>Resolves a file-system path against the config file's folder (absolute paths and ~ are kept).</summary>
    public static string ResolvePath(string baseDir, string raw) =>
        raw.Length == 0 ? "" : Path.GetFullPath(Path.Combine(baseDir, ExpandHome(raw)));

    static string ExpandHome(string p) =>
        p == "~" || p.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + p[1..]
            : p;
}
