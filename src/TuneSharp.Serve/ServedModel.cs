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

    ServedModel(string directory, CausalLM model, HfTokenizer tokenizer, GenerationConfig generation,
        ChatPrompter? prompter, List<SwitchableLoraLinear> layers, IReadOnlyList<string> adapterNames)
    {
        Directory = directory;
        Model = model;
        Tokenizer = tokenizer;
        Generation = generation;
        Prompter = prompter;
        _layers = layers;
        AdapterNames = adapterNames;
        _adapterNames = [.. adapterNames];
        EosIds = StopTokens.Of(generation, model.Args, tokenizer);
    }

    public string Directory { get; }
    public CausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public GenerationConfig Generation { get; }
    /// <summary>The chat format, or null when the model has no chat template and none was chosen.</summary>
    public ChatPrompter? Prompter { get; }
    public IReadOnlyList<string> AdapterNames { get; }
    /// <summary>EOS ids of the model (generation_config, config.json, tokenizer).</summary>
    public IReadOnlySet<int> EosIds { get; }
    /// <summary>The adapter the projections currently add, or null for the base.</summary>
    public string? ActiveAdapter { get; private set; }

    /// <summary>
    /// Loads <paramref name="directory"/> in <paramref name="dtype"/>, with a switchable projection wherever an adapter
    /// targets one, then each adapter's lora_A / lora_B. <paramref name="template"/> names a built-in chat template to use
    /// instead of the tokenizer's.
    /// </summary>
    public static ServedModel Load(string directory, IReadOnlyList<AdapterSource> adapters, ScalarType dtype = ScalarType.Float32,
        string? template = null)
    {
        var duplicate = adapters.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new ArgumentException($"adapter name '{duplicate.Key}' is given twice");
        var policies = adapters.Select(a => (a.Name, a.Directory, Policy: new LoraPolicy(ReadSupportedConfig(a.Directory)))).ToList();
        var factory = new Factory(policies.Select(p => p.Policy).ToList());

        var tokenizer = HfTokenizer.Load(directory);
        var generation = GenerationConfig.Load(directory);
        var prompter = template != null || tokenizer.ChatTemplate != null ? ChatPrompter.For(tokenizer, directory, template) : null;
        var model = ModelLoader.Load(directory, new ModelLoadOptions { DType = dtype, Linears = factory });
        try
        {
            model.eval();
            var layers = model.named_modules().Where(m => m.module is SwitchableLoraLinear)
                .Select(m => (m.name, Layer: (SwitchableLoraLinear)m.module)).ToList();
            foreach (var (name, dir, policy) in policies) LoadFactors(name, dir, policy, layers);
            return new ServedModel(directory, model, tokenizer, generation, prompter, [.. layers.Select(l => l.Layer)],
                [.. adapters.Select(a => a.Name)]);
        }
        catch
        {
            model.Dispose();
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
