using TorchSharp;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Models;
using TuneSharp.Models.Common;
using TuneSharp.Peft;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Serve;

/// <summary>A PEFT LoRA adapter to serve under <paramref name="Name"/> (the request's <c>model</c> field).</summary>
public sealed record AdapterSource(string Name, string Directory);

/// <summary>
/// The model a server owns: base weights loaded once, every adapter's factors beside the projections they adapt
/// (<see cref="SwitchableLoraLinear"/>), the tokenizer, generation defaults and the chat format.
/// Not thread-safe: only the tensor worker uses it.
/// </summary>
public sealed class ServedModel : IDisposable
{
    readonly List<SwitchableLoraLinear> _layers;
    readonly HashSet<string> _adapterNames;
    readonly IReadOnlyDictionary<string, ChatPrompter> _adapterPrompters;

    ServedModel(ModelBundle bundle, ChatPrompter? prompter, IReadOnlyDictionary<string, ChatPrompter> adapterPrompters,
        List<SwitchableLoraLinear> layers, IReadOnlyList<string> adapterNames, IReadOnlyList<string> notes)
    {
        Directory = bundle.Directory;
        Model = bundle.Model;
        Tokenizer = bundle.Tokenizer;
        Generation = bundle.Generation;
        Prompter = prompter;
        _adapterPrompters = adapterPrompters;
        _layers = layers;
        AdapterNames = adapterNames;
        _adapterNames = [.. adapterNames];
        EosIds = bundle.StopTokenIds.ToHashSet();
        Notes = notes;
    }

    public string Directory { get; }
    public CausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public GenerationConfig Generation { get; }
    /// <summary>The base model's chat format, or null when the model has no chat template and none was chosen.</summary>
    public ChatPrompter? Prompter { get; }
    /// <summary>Notes for the log: folder notes and why an adapter would not load as trained in vLLM.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>
    /// The chat format for requests to <paramref name="adapter"/> (null = the base): the template the adapter was trained
    /// with when its folder carries one and --template was not given, else the base's.
    /// </summary>
    public ChatPrompter? PrompterFor(string? adapter) =>
        adapter != null && _adapterPrompters.TryGetValue(adapter, out var p) ? p : Prompter;

    public IReadOnlyList<string> AdapterNames { get; }
    /// <summary>EOS ids of the model (generation_config, config.json, tokenizer).</summary>
    public IReadOnlySet<int> EosIds { get; }
    /// <summary>The adapter the projections currently add, or null for the base.</summary>
    public string? ActiveAdapter { get; private set; }

    /// <summary>
    /// Loads <paramref name="directory"/> in <paramref name="dtype"/>, with a switchable projection wherever an adapter
    /// targets one, then each adapter's lora_A / lora_B. <paramref name="template"/> chooses the chat template for the
    /// base and every adapter (<see cref="TemplateResolver"/>); without it each adapter uses the template it was trained
    /// with when its folder carries one.
    /// </summary>
    public static ServedModel Load(string directory, IReadOnlyList<AdapterSource> adapters, ScalarType dtype = ScalarType.Float32,
        string? template = null)
    {
        var duplicate = adapters.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new ArgumentException($"adapter name '{duplicate.Key}' is given twice");
        var policies = adapters.Select(a => (a.Name, a.Directory, Policy: new LoraPolicy(ReadSupportedConfig(a.Directory)))).ToList();
        var factory = new Factory(policies.Select(p => p.Policy).ToList());

        var bundle = ModelBundle.Load(directory, new ModelLoadOptions { DType = dtype, Linears = factory });
        try
        {
            var prompter = TemplateResolver.Resolve(template, bundle.Tokenizer) is { } t ? new ChatPrompter(t.Template, bundle.Tokenizer) : null;
            var adapterPrompters = new Dictionary<string, ChatPrompter>(StringComparer.Ordinal);
            var notes = new List<string>(bundle.Notes);
            foreach (var (name, dir, policy) in policies)
            {
                notes.AddRange(VllmCompatibility.Problems(policy.Settings).Select(p => $"adapter '{name}': {p}"));
                // The adapter's trained template; its prompts are encoded with the base tokenizer (same vocabulary).
                if (template == null && ModelBundle.TokenizerDirectoryFor(directory, dir) == dir
                    && TemplateResolver.Resolve(null, ModelBundle.LoadTokenizer(directory, dir), "adapter") is { } trained)
                    adapterPrompters[name] = new ChatPrompter(trained.Template, bundle.Tokenizer);
            }
            var layers = bundle.Model.named_modules().Where(m => m.module is SwitchableLoraLinear)
                .Select(m => (m.name, Layer: (SwitchableLoraLinear)m.module)).ToList();
            foreach (var (name, dir, policy) in policies) LoadFactors(name, dir, policy, layers);
            return new ServedModel(bundle, prompter, adapterPrompters, [.. layers.Select(l => l.Layer)], [.. adapters.Select(a => a.Name)], notes);
        }
        catch
        {
            bundle.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="name"/> is a served adapter.</summary>
    public bool HasAdapter(string name) => _adapterNames.Contains(name);

    /// <summary>Switches every projection to adapter <paramref name="name"/>, or to the base for null.</summary>
    public void Activate(string? name)
    {
        if (name == ActiveAdapter) return;
        if (name != null && !HasAdapter(name)) throw new ArgumentException($"no adapter named '{name}'", nameof(name));
        foreach (var layer in _layers) layer.Activate(name);
        ActiveAdapter = name;
    }

    public void Dispose() => Model.Dispose();

    /// <summary>adapter_config.json, limited to what a switchable projection computes (plain LoRA / rsLoRA).</summary>
    static LoraSettings ReadSupportedConfig(string directory)
    {
        var settings = AdapterIO.ReadConfig(directory);
        string file = Path.Combine(directory, AdapterIO.ConfigFile);
        if (settings.UseDora)
            throw new NotSupportedException($"{file}: use_dora = true is not supported by serve; merge the adapter (tunesharp export merge) and serve the result");
        if (settings.ModulesToSave.Count > 0)
            throw new NotSupportedException($"{file}: modules_to_save is not supported by serve; merge the adapter (tunesharp export merge) and serve the result");
        return settings;
    }

    /// <summary>Copies one adapter's factors into the projections its policy targets; every problem is reported at once.</summary>
    static void LoadFactors(string name, string directory, LoraPolicy policy, List<(string Path, SwitchableLoraLinear Layer)> layers)
    {
        string file = Path.Combine(directory, AdapterIO.WeightsFile);
        using var checkpoint = SafeTensorsCheckpoint.Open(file);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var loaded = new List<(SwitchableLoraLinear Layer, string A, string B, double Scaling)>();
        foreach (var (path, layer) in layers)
        {
            if (policy.Plan(path) is not { } spec) continue;
            string a = $"{AdapterIO.KeyPrefix}{path}.lora_A.weight", b = $"{AdapterIO.KeyPrefix}{path}.lora_B.weight";
            long[] shapeA = [spec.R, layer.InFeatures], shapeB = [layer.OutFeatures, spec.R];
            foreach (var (key, shape) in new[] { (a, shapeA), (b, shapeB) })
            {
                used.Add(key);
                if (!checkpoint.Contains(key)) problems.Add($"missing tensor '{key}' [{string.Join(", ", shape)}]");
                else if (!checkpoint.Info(key).Shape.SequenceEqual(shape))
                    problems.Add($"tensor '{key}' has shape [{string.Join(", ", checkpoint.Info(key).Shape)}] but the model expects [{string.Join(", ", shape)}]");
            }
            loaded.Add((layer, a, b, spec.Scaling));
        }
        foreach (var key in checkpoint.Names)
            if (!used.Contains(key)) problems.Add($"unexpected tensor '{key}' (no projection of the model is adapted under this key)");
        if (problems.Count > 0)
            throw new InvalidDataException($"{file}: adapter '{name}' does not match the model ({problems.Count} problem(s)):\n  " + string.Join("\n  ", problems.Take(30)));
        foreach (var (layer, a, b, scaling) in loaded)
            layer.Add(name, checkpoint.Load(a, ScalarType.Float32), checkpoint.Load(b, ScalarType.Float32), scaling);
    }

    /// <summary>A switchable projection wherever any adapter targets the path, a plain dense one elsewhere.</summary>
    sealed class Factory(IReadOnlyList<LoraPolicy> policies) : ILinearFactory
    {
        public nn.Module<Tensor, Tensor> Create(string path, long inFeatures, long outFeatures, bool bias, ScalarType dtype) =>
            policies.Any(p => p.IsTarget(path))
                ? new SwitchableLoraLinear(inFeatures, outFeatures, bias, dtype)
                : DenseLinearFactory.Instance.Create(path, inFeatures, outFeatures, bias, dtype);
    }
}
