using TuneSharp.Data;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Cache;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Config;
using DataSpec = TuneSharp.Data.DatasetSpec;

namespace TuneSharp.Training.Setup;

/// <summary>Tokenized training and validation samples, with the statistics shown before training starts.</summary>
public sealed record PreparedData(
    IReadOnlyList<TokenizedSample> Train,
    IReadOnlyList<TokenizedSample> Validation,
    EncodingStats Stats,
    ChatTemplate Template,
    string TemplateName,
    int DuplicatesRemoved,
    IReadOnlyList<string> Notes)
{
    /// <summary>The chat template conversations are rendered with; null for pretraining (raw text, no template).</summary>
    public ChatTemplate? ChatTemplate => IsRawText ? null : Template;

    /// <summary>True for pretraining windows of raw text.</summary>
    public bool IsRawText { get; init; }

    /// <summary>SHA-256 over the data files, tokenizer, template and data settings (the tokenized cache key); empty when
    /// prepared without the cache.</summary>
    public string Fingerprint { get; init; } = "";
}

/// <summary>Thrown when the datasets have problems; the message lists them with file:line and codes.</summary>
public sealed class DataValidationException(string message) : Exception(message);

/// <summary>
/// From `data:` to tokenized samples: read and validate every dataset (all problems reported at once), mix, split,
/// render with the chat template, tokenize with label masks, and drop/truncate by max_seq_len.
/// </summary>
public static class DataSetup
{
    /// <summary>Tokenized datasets are cached here (TUNESHARP_CACHE, default ~/.cache/tunesharp/tokenized).</summary>
    public static string CacheDirectory =>
        Environment.GetEnvironmentVariable("TUNESHARP_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "tunesharp", "tokenized");

    /// <summary>
    /// Like <see cref="Prepare(TrainConfig, HfTokenizer)"/>, but a second run with the same data files, tokenizer,
    /// template and data settings loads the tokenized samples from the cache and skips reading, validation and encoding.
    /// </summary>
    public static PreparedData Prepare(TrainConfig cfg, HfTokenizer tokenizer, string tokenizerDirectory, string? cacheDirectory = null,
        CancellationToken ct = default)
    {
        var (template, templateName, notes) = ResolveTemplate(cfg, tokenizer);
        var settings = new EncodingSettings(cfg.Data.MaxSeqLen, cfg.Method.Sft.TrainOn, cfg.Method.Sft.Truncation);
        if (DataKey(cfg, tokenizerDirectory, template, settings) is not { } key)
            return Prepare(cfg, tokenizer, ct); // a file is missing: let the readers report it
        var cache = new TokenizedDatasetCache(cacheDirectory ?? CacheDirectory);
        string trainKey = SubKey(key, "train"), valKey = SubKey(key, "validation");
        if (cache.TryLoad(trainKey, out var train) && cache.TryLoad(valKey, out var val))
            return new PreparedData(train!.Samples, val!.Samples, train.Stats, template, templateName, 0,
                [.. notes, $"tokenized data loaded from the cache ({cache.PathOf(trainKey)})"])
            { Fingerprint = key, IsRawText = cfg.Method.Stage == Stage.Pretrain };
        var prepared = Prepare(cfg, tokenizer, ct) with { Fingerprint = key };
        try
        {
            cache.Save(trainKey, new EncodedDataset(prepared.Train, prepared.Stats));
            cache.Save(valKey, new EncodedDataset(prepared.Validation, new EncodingStats()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return prepared with { Notes = [.. prepared.Notes, $"could not write the tokenized-data cache: {e.Message}"] };
        }
        return prepared;
    }

    /// <summary>SHA-256 over the data files, tokenizer, template, encoding settings and every other data-deciding key
    /// (mixing, splitting, the stage and the data keys of its section); null when a file cannot be read.</summary>
    internal static string? DataKey(TrainConfig cfg, string tokenizerDirectory, ChatTemplate template, EncodingSettings settings)
    {
        var files = cfg.Data.Datasets.Select(d => d.Path).Append(cfg.Data.ValPath).OfType<string>()
            .SelectMany<string, string>(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : new[] { p });
        // Everything else that decides the samples: mixing, splitting, the stage and its data keys. Not the adapter
        // (method.type, lora, ...) nor a loss setting such as dpo.beta, nor the safety scan's settings: changing those reuses
        // the tokenized data, and a refused resume names only them.
        var method = new MethodSection
        {
            Type = MethodType.Lora, Stage = cfg.Method.Stage, Sft = cfg.Method.Sft, Pretrain = cfg.Method.Pretrain,
            Dpo = new DpoSection { PromptTruncation = cfg.Method.Dpo.PromptTruncation },
            Orpo = new OrpoSection { PromptTruncation = cfg.Method.Orpo.PromptTruncation },
            Simpo = new SimpoSection { PromptTruncation = cfg.Method.Simpo.PromptTruncation },
            Kto = new KtoSection { PromptTruncation = cfg.Method.Kto.PromptTruncation },
        };
        string extra = ConfigLoader.ToYaml(cfg with
        {
            Model = cfg.Model with { Path = "" }, Method = method, Data = cfg.Data with { SafetyScan = true, SafetyFailOn = default, SafetyAllowDomains = [] }, Optimizer = new(), Schedule = new(), Eval = new(), Output = new(), Logging = new(),
            Train = new TrainSection { Seed = cfg.Train.Seed, MaxSteps = 1 },
        });
        try { return CacheKey.Compute(files, tokenizerDirectory, template, settings, extra: extra); }
        catch (IOException) { return null; }
    }

    static string SubKey(string key, string part) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key + "/" + part)));

    /// <summary>Reads, validates, mixes, splits and encodes; <paramref name="ct"/> is checked between files and every
    /// few hundred examples, so a stop during a long preparation is prompt.</summary>
    public static PreparedData Prepare(TrainConfig cfg, HfTokenizer tokenizer, CancellationToken ct = default)
    {
        var data = cfg.Data;
        if (data.Datasets.Count == 0) throw new ArgumentException("data.datasets is empty: give at least one dataset");
        var problems = new List<DataProblem>();
        var textSplit = cfg.Method.Pretrain.TextSplit;
        var specs = data.Datasets.Select(d => ToDataSpec(d, textSplit)).ToList();
        var validation = data.ValPath is { } vp ? new List<DataSpec> { new(vp) { TextSplit = textSplit } } : null;
        // Pretraining holds out token windows, not documents: a single corpus file is one document.
        bool windowSplit = cfg.Method.Stage == Stage.Pretrain && validation is null && data.ValSize > 0;
        var mixed = DatasetMixer.Mix(specs, new MixOptions
        {
            Seed = (ulong)cfg.Train.Seed,
            ValSize = windowSplit ? 0 : data.ValSize,
            ValidationSpecs = validation,
            RemoveDuplicates = data.Dedup,
        }, problems);
        if (problems.Count > 0) throw Invalid(problems);
        ct.ThrowIfCancellationRequested();

        var train = data.MaxSamples is { } max ? mixed.Train.Take(max).ToList() : mixed.Train;
        if (train.Count == 0) throw new ArgumentException("the training datasets contain no examples");

        var (template, templateName, notes) = ResolveTemplate(cfg, tokenizer);
        var encoder = new ExampleEncoder(tokenizer, template, new EncodingSettings(data.MaxSeqLen, cfg.Method.Sft.TrainOn, cfg.Method.Sft.Truncation));
        var stats = new EncodingStats();
        var trainSamples = Encode(cfg.Method.Stage, train, encoder, stats, ct);
        var valSamples = Encode(cfg.Method.Stage, mixed.Validation, encoder, new EncodingStats(), ct);
        if (windowSplit) (trainSamples, valSamples) = HoldOutWindows(trainSamples, data.ValSize, cfg.Train.Seed, notes);
        else if (data.ValSize > 0 && valSamples.Count == 0)
            notes.Add($"warning: data.val_size {data.ValSize} of {mixed.Train.Count} example(s) leaves no validation example; " +
                      "evaluation will not run (raise val_size or set data.val_path)");
        if (trainSamples.Count == 0)
            throw new DataValidationException($"no training sample is left after tokenization: {stats}");
        if (stats.Truncated > 0) notes.Add($"{stats.Truncated} example(s) truncated to max_seq_len {data.MaxSeqLen}");
        if (stats.Dropped > 0) notes.Add($"{stats.Dropped} example(s) longer than max_seq_len {data.MaxSeqLen} dropped");
        if (mixed.DuplicatesRemoved > 0) notes.Add($"{mixed.DuplicatesRemoved} exact duplicate example(s) removed");
        return new PreparedData(trainSamples, valSamples, stats, template, templateName, mixed.DuplicatesRemoved, notes)
        {
            IsRawText = cfg.Method.Stage == Stage.Pretrain,
        };
    }

    /// <summary>
    /// Pretraining validation: a seeded random <paramref name="valSize"/> of the token windows (a fraction, or a count
    /// when at least 1; at least one window when there are two or more), the rest in their original order for training.
    /// </summary>
    static (List<TokenizedSample> Train, List<TokenizedSample> Validation) HoldOutWindows(List<TokenizedSample> windows, double valSize,
        int seed, List<string> notes)
    {
        int count = valSize < 1 ? (int)Math.Max(1, Math.Round(valSize * windows.Count)) : (int)Math.Min(valSize, windows.Count);
        if (windows.Count < 2 || count >= windows.Count)
        {
            notes.Add($"warning: data.val_size {valSize} leaves no training window out of {windows.Count}; evaluation will not run");
            return (windows, []);
        }
        var order = Enumerable.Range(0, windows.Count).ToArray();
        new Random(seed).Shuffle(order);
        var held = order.Take(count).ToHashSet();
        notes.Add($"validation: {count} of {windows.Count} token windows held out (data.val_size {valSize})");
        return ([.. windows.Where((_, i) => !held.Contains(i))], [.. order.Take(count).Order().Select(i => windows[i])]);
    }

    static List<TokenizedSample> Encode(Stage stage, IReadOnlyList<Example> examples, ExampleEncoder encoder, EncodingStats stats,
        CancellationToken ct)
    {
        if (stage == Stage.Pretrain)
        {
            var texts = examples.OfType<TextExample>().ToList();
            if (texts.Count != examples.Count)
                throw new DataValidationException(
                    $"method.stage pretrain needs raw text; {examples.First(e => e is not TextExample).Source} is a {examples.First(e => e is not TextExample).GetType().Name}");
            var windows = encoder.EncodePretraining(texts).Select((w, i) =>
            {
                if (i % 256 == 0) ct.ThrowIfCancellationRequested();
                return w;
            }).ToList();
            foreach (var w in windows) stats.AddSample(w);
            return windows;
        }
        var samples = new List<TokenizedSample>();
        var problems = new List<string>();
        foreach (var r in DatasetEncoder.EncodeAll(examples, encoder, stats))
        {
            if (samples.Count % 256 == 0) ct.ThrowIfCancellationRequested();
            if (r.Sample != null) samples.Add(r.Sample);
            else if (r.Status == EncodeStatus.Problem) problems.Add(r.ToString());
        }
        if (problems.Count > 0)
            throw new DataValidationException($"{problems.Count} example(s) could not be encoded:\n  " + string.Join("\n  ", problems.Take(20)));
        return samples;
    }

    /// <summary>Pretraining renders no conversations: the encoder gets the plain template and no note is printed.</summary>
    internal static (ChatTemplate Template, string Name, List<string> Notes) ResolveTemplate(TrainConfig cfg, HfTokenizer tokenizer) =>
        cfg.Method.Stage == Stage.Pretrain ? (ChatTemplate.BuiltIn("plain"), "none (raw text)", []) : ResolveTemplate(cfg.Data.Template, tokenizer);

    /// <summary>The chat template a run trains with, saved with its outputs (FinalOutputs); null for pretraining (raw text).</summary>
    public static ChatTemplate? TrainedTemplate(TrainConfig cfg, HfTokenizer tokenizer) =>
        cfg.Method.Stage == Stage.Pretrain ? null : ResolveTemplate(cfg.Data.Template, tokenizer).Template;

    /// <summary>
    /// The template the run trains with (<see cref="TemplateResolver"/>, the same choice as every --template): `auto` = the
    /// tokenizer's own chat_template, falling back to ChatML for models without one.
    /// </summary>
    static (ChatTemplate Template, string Name, List<string> Notes) ResolveTemplate(TemplateSpec spec, HfTokenizer tokenizer)
    {
        var notes = new List<string>();
        string? choice = spec.Kind switch
        {
            TemplateKind.Auto => null,
            TemplateKind.File => spec.Path,
            _ => ConfigNames.Of(spec.Kind),
        };
        if (TemplateResolver.Resolve(choice, tokenizer) is { } resolved) return (resolved.Template, resolved.Description, notes);
        notes.Add("the model has no chat_template: using the built-in chatml template (set data.template to choose)");
        return (ChatTemplate.BuiltIn("chatml"), "chatml (fallback)", notes);
    }

    internal static DataSpec ToDataSpec(Config.DatasetSpec d, TextSplit textSplit) => new(d.Path)
    {
        Format = d.Format switch
        {
            DatasetFormat.Auto => null,
            DatasetFormat.Alpaca => DataFormat.Alpaca,
            DatasetFormat.Sharegpt => DataFormat.ShareGpt,
            DatasetFormat.Messages => DataFormat.Chat,
            DatasetFormat.PromptCompletion => DataFormat.Completion,
            DatasetFormat.Text => DataFormat.Text,
            _ => throw new NotSupportedException($"data.datasets.format {d.Format}"),
        },
        Columns = d.Columns.Count > 0 ? d.Columns.ToDictionary(kv => kv.Key, kv => kv.Value) : null,
        Weight = d.Weight,
        MaxSamples = d.MaxSamples,
        Split = d.Split,
        TextSplit = textSplit,
    };

    internal static DataValidationException Invalid(List<DataProblem> problems)
    {
        const int cap = 20;
        var lines = problems.Take(cap).Select(p => "  " + p);
        string more = problems.Count > cap ? $"\n  ... and {problems.Count - cap} more" : "";
        return new DataValidationException(
            $"the datasets have {problems.Count} problem(s); fix them (see `tunesharp data validate <file>`):\n{string.Join("\n", lines)}{more}");
    }
}
