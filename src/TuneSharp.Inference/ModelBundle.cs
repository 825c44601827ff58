using TuneSharp.Models;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Inference;

/// <summary>A model folder loaded for inference: weights, tokenizer and generation defaults.</summary>
public sealed class ModelBundle : IDisposable
{
    ModelBundle(string directory, CausalLM model, HfTokenizer tokenizer, GenerationConfig generation)
    {
        Directory = directory;
        Model = model;
        Tokenizer = tokenizer;
        Generation = generation;
    }

    public string Directory { get; }
    public CausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public GenerationConfig Generation { get; }

    public static ModelBundle Load(string directory, ScalarType dtype = ScalarType.Float32)
    {
        var tokenizer = HfTokenizer.Load(directory);
        var generation = GenerationConfig.Load(directory);
        var model = ModelLoader.Load(directory, new ModelLoadOptions { DType = dtype });
        model.eval();
        return new ModelBundle(directory, model, tokenizer, generation);
    }

    /// <summary>Every id that ends generation: generation_config, config.json and the tokenizer's EOS.</summary>
    public IReadOnlyCollection<int> StopTokenIds => StopTokens.Of(Generation, Model.Args, Tokenizer);

    public void Dispose() => Model.Dispose();
}

/// <summary>The token ids that end generation for a model.</summary>
public static class StopTokens
{
    /// <summary>EOS ids from generation_config.json and config.json, and the tokenizer's EOS.</summary>
    public static IReadOnlySet<int> Of(GenerationConfig? generation, DecoderArgs args, HfTokenizer tokenizer)
    {
        var ids = new HashSet<int>(generation?.EosTokenIds ?? []);
        ids.UnionWith(args.EosTokenIds);
        if (tokenizer.EosTokenId is { } eos) ids.Add(eos);
        return ids;
    }
}
