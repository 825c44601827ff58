using TuneSharp.Core.SafeTensors;
using TuneSharp.Models.Common;
using TuneSharp.Models.Families;
using static TorchSharp.torch;

namespace TuneSharp.Models;

/// <summary>Options for <see cref="ModelLoader.Load"/>.</summary>
public sealed record ModelLoadOptions
{
    public ScalarType DType { get; init; } = ScalarType.Float32;
    public ILinearFactory? Linears { get; init; }
    /// <summary>Parameters that a checkpoint is not expected to hold (e.g. freshly created adapter weights).</summary>
    public Func<string, bool>? NotInCheckpoint { get; init; }
}

/// <summary>Builds a <see cref="CausalLM"/> from an HF folder (config.json + safetensors, single or sharded).</summary>
public static class ModelLoader
{
    /// <summary>Checkpoint entries that are derived buffers in some exports, never weights.</summary>
    static bool IsIgnorableCheckpointEntry(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    public static CausalLM Load(string directory, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        var args = ModelFamilies.FromConfigFile(Path.Combine(directory, "config.json"));
        var model = new CausalLM(args, options.DType, options.Linears);
        try
        {
            using var checkpoint = SafeTensorsCheckpoint.Open(directory);
            LoadWeights(model, checkpoint, directory, options.NotInCheckpoint);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies every parameter from the checkpoint (converted to the parameter's dtype). Missing, unexpected and
    /// mis-shaped tensors are collected and reported together in one <see cref="InvalidDataException"/>.
    /// </summary>
    public static void LoadWeights(CausalLM model, SafeTensorsCheckpoint checkpoint, string source, Func<string, bool>? notInCheckpoint = null)
    {
        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        using (no_grad())
        {
            // Modules that keep checkpoint tensors in another form (quantized weights) take them by key.
            foreach (var (path, module) in model.named_modules())
            {
                if (module is not ICheckpointLoadable loadable) continue;
                foreach (var key in loadable.CheckpointKeys)
                {
                    string name = $"{path}.{key}";
                    expected.Add(name);
                    if (Check(name, loadable.CheckpointShape(key)))
                    {
                        using var scope = NewDisposeScope();
                        loadable.LoadFromCheckpoint(key, checkpoint.Load(name));
                    }
                }
            }
            foreach (var (name, p) in model.named_parameters())
            {
                if (expected.Contains(name) || notInCheckpoint?.Invoke(name) == true) continue;
                expected.Add(name);
                if (!Check(name, p.shape)) continue;
                using var scope = NewDisposeScope();
                p.copy_(checkpoint.Load(name, p.dtype));
            }
        }

        bool Check(string name, long[] shape)
        {
            if (!checkpoint.Contains(name))
            {
                problems.Add($"missing tensor '{name}' {Shape(shape)}");
                return false;
            }
            var info = checkpoint.Info(name);
            if (info.Shape.SequenceEqual(shape)) return true;
            problems.Add($"tensor '{name}' has shape {Shape(info.Shape)} in the checkpoint but the model expects {Shape(shape)}");
            return false;
        }

        foreach (var name in checkpoint.Names)
            if (!expected.Contains(name) && !IsIgnorableCheckpointEntry(name) && notInCheckpoint?.Invoke(name) != true)
                problems.Add($"unexpected tensor '{name}' {Shape(checkpoint.Info(name).Shape)}");
        if (problems.Count > 0)
        {
            const int cap = 30;
            string list = string.Join("\n  ", problems.Take(cap));
            string more = problems.Count > cap ? $"\n  ... and {problems.Count - cap} more" : "";
            throw new InvalidDataException(
                $"{source}: the checkpoint does not match the '{model.Args.ModelType}' model built from config.json " +
                $"({problems.Count} problem(s)):\n  {list}{more}");
        }
    }

    static string Shape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
