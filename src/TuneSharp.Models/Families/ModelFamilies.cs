namespace TuneSharp.Models.Families;

/// <summary>
/// A model family maps its `config.json` onto the shared decoder. Adding a Llama-like family is one small class here,
/// never a copied model file.
/// </summary>
public interface IModelFamily
{
    /// <summary>The HF `model_type`.</summary>
    string ModelType { get; }

    /// <summary>HF architecture class names (for configs without model_type).</summary>
    IReadOnlyList<string> Architectures { get; }

    DecoderArgs Map(ConfigReader config);
}

/// <summary>The one list of families, keyed on model_type / architectures (never on repository names).</summary>
public static class ModelFamilies
{
    public static IReadOnlyList<IModelFamily> All { get; } =
        [new LlamaFamily(), new MistralFamily(), new Qwen2Family(), new Qwen3Family()];

    public static DecoderArgs FromConfigFile(string path) => Map(ConfigReader.FromFile(path));

    public static DecoderArgs Map(ConfigReader config) => Find(config).Map(config);

    public static IModelFamily Find(ConfigReader config)
    {
        string? modelType = config.String("model_type");
        if (modelType != null)
            return All.FirstOrDefault(f => f.ModelType == modelType)
                   ?? throw config.Unsupported("model_type", $"= '{modelType}' is not supported; supported: {string.Join(", ", All.Select(f => f.ModelType))}");
        var archs = config.Raw("architectures")?.EnumerateArray().Select(a => a.GetString()).ToArray() ?? [];
        return All.FirstOrDefault(f => archs.Any(a => a != null && f.Architectures.Contains(a)))
               ?? throw config.Unsupported("architectures",
                   $"= [{string.Join(", ", archs)}] (and no model_type) is not supported; supported model types: {string.Join(", ", All.Select(f => f.ModelType))}");
    }
}
