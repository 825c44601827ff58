using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Inference;

/// <summary>
/// A model folder loaded for inference, optionally with a PEFT adapter: weights, tokenizer, generation defaults. The one
/// loader used by chat, generate, serve and export. When the adapter folder carries tokenizer files (as TuneSharp and
/// TRL save them, with the chat template the adapter was trained with), the tokenizer is the adapter's, so its template
/// is the default; generation defaults always come from the base model.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    ModelBundle(string directory, string? adapterDirectory, CausalLM model, HfTokenizer tokenizer, GenerationConfig generation,
        LoraPolicy? policy)
    {
        Directory = directory;
        AdapterDirectory = adapterDirectory;
        TokenizerDirectory = TokenizerDirectoryFor(directory, adapterDirectory);
        Model = model;
        Tokenizer = tokenizer;
        Generation = generation;
        Policy = policy;
        Notes = FolderNotes(TokenizerDirectory);
    }

    /// <summary>The base model folder.</summary>
    public string Directory { get; }
    public string? AdapterDirectory { get; }
    /// <summary>Where the tokenizer (and its chat template) was read: the adapter's folder when it has tokenizer files.</summary>
    public string TokenizerDirectory { get; }
    /// <summary>"adapter" or "model": whose tokenizer (and chat template) this is, for messages.</summary>
    public string TokenizerOwner => TokenizerDirectory == Directory ? "model" : "adapter";
    public CausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public GenerationConfig Generation { get; }
    /// <summary>The adapter's policy (its settings and adapted projections), or null without an adapter.</summary>
    public LoraPolicy? Policy { get; }
    /// <summary>Things the user should know about the folders (printed as notes by the commands).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>A model folder alone.</summary>
    public static ModelBundle Load(string directory, ScalarType dtype = ScalarType.Float32) => Load(directory, null, dtype);

    /// <summary>
    /// A model folder with an optional adapter applied (eval mode). <paramref name="quant"/>: the base is quantized as
    /// for QLoRA before the adapter is applied (only with an adapter).
    /// </summary>
    public static ModelBundle Load(string directory, string? adapterDirectory, ScalarType dtype = ScalarType.Float32, QuantSettings? quant = null)
    {
        if (adapterDirectory == null)
            return quant == null ? Load(directory, new ModelLoadOptions { DType = dtype })
                : throw new ArgumentException("a base quantization is only meaningful with an adapter");
        var tokenizer = LoadTokenizer(directory, adapterDirectory);
        var generation = GenerationConfig.Load(directory);
        var adapted = AdapterIO.Load(adapterDirectory, directory, dtype, quant);
        return new ModelBundle(directory, adapterDirectory, adapted.Model, tokenizer, generation, adapted.Policy);
    }

    /// <summary>A model folder whose projections come from <paramref name="options"/>' factory (serve's switchable adapters).</summary>
    public static ModelBundle Load(string directory, ModelLoadOptions options)
    {
        var tokenizer = LoadTokenizer(directory, null);
        var generation = GenerationConfig.Load(directory);
        var model = ModelLoader.Load(directory, options);
        model.eval();
        return new ModelBundle(directory, null, model, tokenizer, generation, null);
    }

    /// <summary>The tokenizer for a model (+ adapter): the adapter folder's own when it has one, else the model's.</summary>
    public static HfTokenizer LoadTokenizer(string directory, string? adapterDirectory) =>
        HfTokenizer.Load(TokenizerDirectoryFor(directory, adapterDirectory));

    /// <summary>The adapter folder when it holds tokenizer files, else the model folder.</summary>
    public static string TokenizerDirectoryFor(string directory, string? adapterDirectory) =>
        adapterDirectory != null && (File.Exists(Path.Combine(adapterDirectory, "tokenizer.json")) || File.Exists(Path.Combine(adapterDirectory, "vocab.json")))
            ? adapterDirectory
            : directory;

    /// <summary>
    /// Notes about a tokenizer folder. transformers loads a folder without tokenizer_config.json by falling back to the
    /// tokenizer class defaults of config.json's model_type; TuneSharp has no such defaults, so it says what is missing.
    /// </summary>
    public static IReadOnlyList<string> FolderNotes(string tokenizerDirectory) =>
        File.Exists(Path.Combine(tokenizerDirectory, "tokenizer_config.json"))
            ? []
            : [$"{tokenizerDirectory} has no tokenizer_config.json: the tokenizer has no chat template and no BOS/EOS/pad tokens of its own " +
               "(generation stops at config.json's eos_token_id; transformers would fill in its tokenizer class defaults)"];

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
