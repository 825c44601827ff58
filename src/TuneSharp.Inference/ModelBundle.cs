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
    public IReadOnlyCollection<int> StopTokenIds
    {
        get
        {
            var ids = new HashSet<int>(Generation.EosTokenIds);
            ids.UnionWith(Model.Args.EosTokenIds);
            if (Tokenizer.EosTokenId is { } eos) ids.Add(eos);
            return ids;
        }
    }

    public void Dispose() => Model.Dispose();
}
