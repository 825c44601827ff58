using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Core.Hub;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>A model built through a <see cref="LoraPolicy"/> with adapter weights loaded.</summary>
public sealed record AdapterModelBundle(CausalLM Model, LoraPolicy Policy) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Hugging Face PEFT's on-disk format: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c> with keys
/// <c>base_model.model.{module path}.lora_A.weight</c>, <c>.lora_B.weight</c> and, for DoRA, <c>.lora_magnitude_vector</c>
/// (PEFT drops the adapter name and, for the magnitude, the trailing ".weight").
/// </summary>
public static class AdapterIO
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";
    /// <summary>Prefix PEFT's PeftModelForCausalLM puts before the transformers module path.</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>
    /// Writes both files atomically into <paramref name="directory"/> (created if needed). target_modules is written as
    /// the regex string, or the list (with "all-linear" expanded to the adapted module names, as PEFT does).
    /// </summary>
    public static void Save(string directory, CausalLM model, LoraSettings settings, string? baseModelNameOrPath)
    {
        Directory.CreateDirectory(directory);
        var adapters = model.Adapters().ToList();
        if (adapters.Count == 0) throw new InvalidOperationException("the model has no adapter layers to save");
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (path, layer) in adapters)
        {
            tensors.Add(new($"{KeyPrefix}{path}.lora_A.weight", layer.LoraA));
            tensors.Add(new($"{KeyPrefix}{path}.lora_B.weight", layer.LoraB));
            if (layer.Magnitude is { } m) tensors.Add(new($"{KeyPrefix}{path}.lora_magnitude_vector", m));
        }
        // modules_to_save: PEFT stores the trained copy under the module's own name (no "modules_to_save.default").
        foreach (var (name, p) in SavedModuleParameters(model, settings))
            tensors.Add(new($"{KeyPrefix}{name}", p));
        SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), tensors);
        var leafNames = adapters.Select(a => a.Path[(a.Path.LastIndexOf('.') + 1)..]).Distinct().ToList();
        // A trained copy of a tied embedding must stay the output head when PEFT loads it: ensure_weight_tying (PEFT 0.18+).
        bool tie = model.Args.TieWordEmbeddings && settings.SavesEmbedding;
        WriteAtomically(Path.Combine(directory, ConfigFile), ConfigJson(settings with { EnsureWeightTying = tie }, baseModelNameOrPath, leafNames));
    }

    /// <summary>
    /// adapter_config.json as PEFT writes it: sorted keys, indent 2, the fields of PEFT 0.14 plus ensure_weight_tying
    /// (0.18). A hub id with a revision (<c>org/name@rev</c>) is split into base_model_name_or_path and revision, as PEFT
    /// stores them.
    /// </summary>
    public static string ConfigJson(LoraSettings s, string? baseModelNameOrPath, IReadOnlyList<string> adaptedLeafNames)
    {
        var (baseModel, revision) = SplitRevision(baseModelNameOrPath);
        JsonNode? targets = s.TargetRegex is { } regex
            ? JsonValue.Create(regex)
            : new JsonArray([.. (s.Targets.Contains(LoraSettings.AllLinear) ? adaptedLeafNames : s.Targets).Select(t => (JsonNode?)JsonValue.Create(t))]);
        JsonNode? exclude = s.ExcludeRegex is { } ex ? JsonValue.Create(ex)
            : s.Exclude.Count > 0 ? new JsonArray([.. s.Exclude.Select(e => (JsonNode?)JsonValue.Create(e))]) : null;
        var rank = new JsonObject();
        foreach (var (k, v) in s.RankPattern) rank[k] = v;
        var alpha = new JsonObject();
        foreach (var (k, v) in s.AlphaPattern) alpha[k] = Number(v);
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["alpha_pattern"] = alpha,
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = baseModel,
            ["bias"] = "none",
            ["ensure_weight_tying"] = s.EnsureWeightTying ?? false,
            ["eva_config"] = null,
            ["exclude_modules"] = exclude,
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = s.Init == "gaussian" ? JsonValue.Create("gaussian") : JsonValue.Create(true),
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = Number(s.Alpha),
            ["lora_bias"] = false,
            ["lora_dropout"] = s.Dropout,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = s.ModulesToSave.Count == 0 ? null : new JsonArray([.. s.ModulesToSave.Select(m => (JsonNode?)JsonValue.Create(m))]),
            ["peft_type"] = "LORA",
            ["r"] = s.R,
            ["rank_pattern"] = rank,
            ["revision"] = revision,
            ["target_modules"] = targets,
            ["task_type"] = s.TaskType,
            ["use_dora"] = s.UseDora,
            ["use_rslora"] = s.UseRslora,
        };
        var obj = new JsonObject();
        foreach (var (k, v) in fields) obj[k] = v;
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary><c>org/name@rev</c> → (<c>org/name</c>, <c>rev</c>); local paths and ids without a revision are kept whole.</summary>
    public static (string? Id, string? Revision) SplitRevision(string? baseModelNameOrPath)
    {
        if (baseModelNameOrPath is not { } spec || !spec.Contains('@') || Directory.Exists(spec) || !ModelLocator.LooksLikeRepoId(spec))
            return (baseModelNameOrPath, null);
        var repo = RepoRef.Parse(spec);
        return (repo.RepoId, repo.Revision);
    }

    /// <summary>
    /// Reads adapter_config.json into settings (<paramref name="quant"/> is a property of how the base is loaded, not of
    /// the adapter). PEFT features this library does not implement fail with <see cref="NotSupportedException"/> naming the key.
    /// </summary>
    public static LoraSettings ReadConfig(string directory, QuantSettings? quant = null)
    {
        string file = Path.Combine(directory, ConfigFile);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(file))?.AsObject() ?? throw new InvalidDataException($"{file}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: invalid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{file}: not a JSON object: {e.Message}", e);
        }
        var cfg = new ConfigReader(root, file);
        if (cfg.String("peft_type") is var pt && pt != "LORA") throw new NotSupportedException($"{file}: peft_type '{pt}' is not supported (only LORA)");
        cfg.Require("bias", "none");
        cfg.Require("fan_in_fan_out", false);
        cfg.Require("lora_bias", false);
        cfg.Require("use_qalora", false);
        foreach (var key in new[] { "layers_to_transform", "layers_pattern", "layer_replication", "trainable_token_indices", "target_parameters", "alora_invocation_tokens" })
            cfg.RequireEmpty(key);

        var (targets, targetRegex) = cfg.StringOrList("target_modules", required: true);
        var (exclude, excludeRegex) = cfg.StringOrList("exclude_modules", required: false);
        var init = root["init_lora_weights"] switch
        {
            JsonValue v when v.TryGetValue(out string? str) => str.ToLowerInvariant(),
            _ => "default", // true (kaiming) or false (no init): the loaded weights replace it either way
        };
        if (init != "default" && init != "gaussian")
            throw new NotSupportedException($"{file}: init_lora_weights '{init}' is not supported (default/true or gaussian)");
        var settings = new LoraSettings(
            cfg.Int("r"), cfg.Double("lora_alpha"), cfg.Double("lora_dropout", 0.0), targets, targetRegex, exclude,
            cfg.Bool("use_rslora"), cfg.Bool("use_dora"), cfg.Map("rank_pattern", n => n.GetValue<int>()),
            cfg.Map("alpha_pattern", n => n.GetValue<double>()), init, quant)
        {
            ExcludeRegex = excludeRegex,
            ModulesToSave = root["modules_to_save"] is JsonArray mts ? [.. mts.Select(x => x!.GetValue<string>())] : [],
            EnsureWeightTying = root["ensure_weight_tying"] is null ? null : cfg.Bool("ensure_weight_tying"),
            TaskType = root["task_type"] is JsonValue task && task.TryGetValue(out string? taskType) ? taskType : LoraSettings.CausalLmTask,
        };
        try
        {
            settings.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
        return settings;
    }

    /// <summary>
    /// Builds the base model from <paramref name="baseDirectory"/> with the adapter's policy and loads the adapter weights.
    /// The model is returned in eval mode (no adapter dropout), as transformers' from_pretrained does; call train() to train on.
    /// </summary>
    public static AdapterModelBundle Load(string adapterDirectory, string baseDirectory, ScalarType dtype = ScalarType.Float32, QuantSettings? quant = null)
    {
        var policy = new LoraPolicy(ReadConfig(adapterDirectory, quant));
        CausalLM model;
        try
        {
            model = policy.LoadModel(baseDirectory, dtype);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{Path.Combine(adapterDirectory, ConfigFile)}: {e.Message}", e);
        }
        try
        {
            if (model.Args.TieWordEmbeddings && policy.Settings.SavesEmbedding && policy.Settings.EnsureWeightTying == false)
                throw new NotSupportedException(
                    $"{Path.Combine(adapterDirectory, ConfigFile)}: modules_to_save holds a copy of embed_tokens trained apart from the output head " +
                    "(ensure_weight_tying = false) on a model whose embedding and head are one matrix (tie_word_embeddings); TuneSharp cannot load it as trained");
            LoadWeights(adapterDirectory, model, policy.Settings.ModulesToSave);
            model.eval();
            return new AdapterModelBundle(model, policy);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies adapter_model.safetensors into the adapters of <paramref name="model"/>. Missing, unexpected and mis-shaped
    /// tensors are reported together in one <see cref="InvalidDataException"/>.
    /// </summary>
    public static void LoadWeights(string directory, CausalLM model, IReadOnlyList<string>? modulesToSave = null)
    {
        string file = Path.Combine(directory, WeightsFile);
        using var checkpoint = SafeTensorsCheckpoint.Open(file);
        var expected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (path, layer) in model.Adapters())
        {
            expected[$"{KeyPrefix}{path}.lora_A.weight"] = layer.LoraA;
            expected[$"{KeyPrefix}{path}.lora_B.weight"] = layer.LoraB;
            if (layer.Magnitude is { } m) expected[$"{KeyPrefix}{path}.lora_magnitude_vector"] = m;
        }
        foreach (var (name, p) in model.named_parameters())
            if (AdapterModel.IsSavedModuleParameter(name, modulesToSave)) expected[$"{KeyPrefix}{name}"] = p;
        var problems = new List<string>();
        foreach (var (name, target) in expected)
        {
            if (!checkpoint.Contains(name)) problems.Add($"missing tensor '{name}' [{string.Join(", ", target.shape)}]");
            else if (!checkpoint.Info(name).Shape.SequenceEqual(target.shape))
                problems.Add($"tensor '{name}' has shape [{string.Join(", ", checkpoint.Info(name).Shape)}] but the model expects [{string.Join(", ", target.shape)}]");
        }
        foreach (var name in checkpoint.Names)
            if (!expected.ContainsKey(name)) problems.Add($"unexpected tensor '{name}' (no adapter layer of the model has this key)");
        if (problems.Count > 0)
            throw new InvalidDataException($"{file}: the adapter does not match the model ({problems.Count} problem(s)):\n  " + string.Join("\n  ", problems.Take(30)));
        using var noGrad = no_grad();
        foreach (var (name, target) in expected)
        {
            using var scope = NewDisposeScope();
            target.copy_(checkpoint.Load(name, target.dtype));
        }
    }

    static IEnumerable<(string Name, Tensor Parameter)> SavedModuleParameters(CausalLM model, LoraSettings settings) =>
        model.named_parameters().Where(p => AdapterModel.IsSavedModuleParameter(p.name, settings.ModulesToSave))
            .Select(p => (p.name, (Tensor)p.parameter));

    static JsonNode Number(double v) => v == Math.Floor(v) && Math.Abs(v) < 1e15 ? JsonValue.Create((long)v) : JsonValue.Create(v);

    static void WriteAtomically(string path, string text)
    {
        string tmp = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllText(tmp, text);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Typed reads of adapter_config.json fields with errors naming the file and key.</summary>
    sealed class ConfigReader(JsonObject root, string file)
    {
        T Get<T>(string key, Func<JsonNode, T> read, T? fallback, bool required)
        {
            var node = root[key];
            if (node is null)
                return required ? throw new InvalidDataException($"{file}: missing key '{key}'") : fallback!;
            try
            {
                return read(node);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{file}: key '{key}' has an unexpected value {node.ToJsonString()}", e);
            }
        }

        public string String(string key) => Get(key, n => n.GetValue<string>(), null, true)!;
        public int Int(string key) => Get(key, n => n.GetValue<int>(), 0, true);
        public double Double(string key) => Get(key, n => n.GetValue<double>(), 0, true);
        public double Double(string key, double fallback) => Get(key, n => n.GetValue<double>(), fallback, false);
        public bool Bool(string key) => Get(key, n => n.GetValue<bool>(), false, false);

        public IReadOnlyDictionary<string, T> Map<T>(string key, Func<JsonNode, T> read) =>
            Get<IReadOnlyDictionary<string, T>>(key, n => n.AsObject().ToDictionary(kv => kv.Key, kv => read(kv.Value!)), new Dictionary<string, T>(), false);

        /// <summary>A list of names, or a single string = a regex (PEFT's convention); "all-linear" stays a list entry.</summary>
        public (IReadOnlyList<string> List, string? Regex) StringOrList(string key, bool required) =>
            Get<(IReadOnlyList<string>, string?)>(key, n => n is JsonArray a
                ? ([.. a.Select(x => x!.GetValue<string>())], null)
                : n.GetValue<string>() is var s && s == LoraSettings.AllLinear ? ([s], null) : ([], s), ([], null), required);

        public void Require<T>(string key, T expected)
        {
            var node = root[key];
            if (node is null) return;
            if (node is not JsonValue v || !v.TryGetValue(out T? actual) || !EqualityComparer<T>.Default.Equals(actual, expected))
                throw new NotSupportedException($"{file}: '{key}' = {node.ToJsonString()} is not supported (only {JsonSerializer.Serialize(expected)})");
        }

        public void RequireEmpty(string key)
        {
            var node = root[key];
            bool empty = node is null || (node is JsonArray a && a.Count == 0) || (node is JsonObject o && o.Count == 0);
            if (!empty) throw new NotSupportedException($"{file}: '{key}' = {node!.ToJsonString()} is not supported");
        }
    }
}
