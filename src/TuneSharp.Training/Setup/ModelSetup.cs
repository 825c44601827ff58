using System.Text.RegularExpressions;
using TuneSharp.Core.Native;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Config;
using TuneSharp.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Setup;

/// <summary>The model a recipe trains: weights with the method's trainable subset, tokenizer, and the adapter policy.</summary>
public sealed class TrainableModel : IDisposable
{
    public required CausalLM Model { get; init; }
    public required HfTokenizer Tokenizer { get; init; }
    public required string Directory { get; init; }
    public required ScalarType DType { get; init; }
    /// <summary>Set for LoRA, DoRA and QLoRA.</summary>
    public LoraPolicy? Policy { get; init; }

    public IReadOnlyList<NamedParameter> Trainable =>
        [.. Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => new NamedParameter(p.name, p.parameter))];

    public long TrainableParameterCount => Trainable.Sum(p => p.Parameter.numel());

    /// <summary>Where the weights live; batches are created there.</summary>
    public Device Device => Model.LmHeadWeight.device;

    public long TotalParameters => Model.parameters().Sum(p => p.numel()) + QuantizedParameters;

    long QuantizedParameters => Policy?.Settings.Quant is null ? 0 : Model.QuantizedMemory().Bf16Bytes / 2;

    public void Dispose() => Model.Dispose();
}

/// <summary>Builds the model for a method: full, freeze, LoRA, DoRA or QLoRA.</summary>
public static class ModelSetup
{
    /// <summary>The model for the config's method, loaded on the CPU and moved to <paramref name="device"/>.</summary>
    public static TrainableModel Build(TrainConfig cfg, string modelDir, ScalarType dtype, Device device)
    {
        var model = Build(cfg, modelDir, dtype);
        if (device.type != DeviceType.CPU) model.Model.to(device); // in place: parameters, buffers, quantized storage
        return model;
    }

    public static TrainableModel Build(TrainConfig cfg, string modelDir, ScalarType dtype)
    {
        // A continued adapter that carries its tokenizer files brings its trained template: `auto` then picks it.
        var tokenizer = Inference.ModelBundle.LoadTokenizer(modelDir, cfg.Model.Adapter);
        var method = cfg.Method;
        if (method.IsAdapter)
        {
            // Continuing an existing PEFT adapter: its adapter_config.json decides the adapter shape.
            var settings = cfg.Model.Adapter is { } adapterDir
                ? AdapterIO.ReadConfig(adapterDir, LoraSettingsFrom(method).Quant)
                : LoraSettingsFrom(method);
            var policy = new LoraPolicy(settings);
            var adapted = policy.LoadModel(modelDir, dtype, cfg.Train.Seed);
            if (cfg.Model.Adapter is { } dir)
            {
                AdapterIO.LoadWeights(dir, adapted, settings.ModulesToSave);
                adapted.MarkOnlyAdaptersTrainable(settings.ModulesToSave);
            }
            if (policy.AdaptedPaths.Count == 0)
                throw new ArgumentException($"method.lora.targets matched no projection of the model in {modelDir}");
            return new TrainableModel { Model = adapted, Tokenizer = tokenizer, Directory = modelDir, DType = dtype, Policy = policy };
        }

        var model = ModelLoader.Load(modelDir, new ModelLoadOptions { DType = dtype });
        if (method.Type == MethodType.Freeze) ApplyFreeze(model, method.Freeze);
        return new TrainableModel { Model = model, Tokenizer = tokenizer, Directory = modelDir, DType = dtype };
    }

    public static LoraSettings LoraSettingsFrom(MethodSection method)
    {
        var l = method.Lora;
        var quant = method.Type == MethodType.Qlora ? new QuantSettings(method.Quant.Bits, method.Quant.BlockSize, method.Quant.DoubleQuant) : null;
        IReadOnlyList<string> targets = l.Targets.AllLinear ? [LoraSettings.AllLinear] : [.. l.Targets.Suffixes];
        return new LoraSettings(l.R, l.Alpha, l.Dropout, targets, l.TargetRegex, [.. l.Exclude.Names], l.RsLora,
            method.Type == MethodType.Dora, l.RankPattern.ToDictionary(kv => kv.Key, kv => kv.Value),
            l.AlphaPattern.ToDictionary(kv => kv.Key, kv => kv.Value), l.Init == LoraInit.Gaussian ? "gaussian" : "default", quant)
        {
            ExcludeRegex = l.Exclude.Regex,
            ModulesToSave = [.. l.ModulesToSave],
        };
    }

    /// <summary>Freeze everything, then unfreeze the chosen layers (negative = from the end) and module patterns.</summary>
    static void ApplyFreeze(CausalLM model, FreezeSection freeze)
    {
        int layers = model.Args.NumHiddenLayers;
        var layerSet = freeze.TrainableLayers.Select(i => i < 0 ? layers + i : i).ToHashSet();
        foreach (int i in layerSet)
            if (i < 0 || i >= layers)
                throw new ArgumentException($"method.freeze.trainable_layers: layer {i} does not exist (the model has {layers})");
        var patterns = freeze.TrainableModules.Select(p => new Regex($"(^|\\.)(?:{p})(\\.|$)", RegexOptions.CultureInvariant)).ToArray();
        int unfrozen = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            bool train = layerSet.Any(i => name.StartsWith($"model.layers.{i}.", StringComparison.Ordinal))
                         || patterns.Any(r => r.IsMatch(name));
            p.requires_grad = train;
            if (train) unfrozen++;
        }
        if (unfrozen == 0)
            throw new ArgumentException("method.freeze: trainable_layers and trainable_modules select no parameter");
    }
}
