using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Core.IO;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Outputs;

/// <summary>
/// A complete Hugging Face model folder (config.json, safetensors shards + index, generation_config.json, tokenizer
/// files with the chat template), written atomically (<see cref="AtomicDirectory"/>): everything goes into a temporary
/// folder that is renamed into place, so a killed write leaves nothing at the final path. Used by full fine-tuning's
/// output, output.save_merged and `export merge`.
/// </summary>
public static class ModelFolder
{
    /// <summary>
    /// Writes <paramref name="model"/>'s weights with config.json and generation_config.json from
    /// <paramref name="configDirectory"/> and the tokenizer files of <paramref name="tokenizerDirectory"/> carrying
    /// <paramref name="chatTemplate"/>. An existing non-empty folder is replaced only with <paramref name="replace"/>.
    /// <paramref name="weights"/> picks the parameters written (all by default) and <paramref name="editConfig"/> changes
    /// config.json (e.g. a reward model's *ForSequenceClassification layout).
    /// </summary>
    public static void Save(string directory, CausalLM model, string configDirectory, string tokenizerDirectory, string? chatTemplate, bool replace,
        Func<string, bool>? weights = null, Action<JsonObject>? editConfig = null)
    {
        if (!replace && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"{Path.GetFullPath(directory)} already exists and is not empty");
        AtomicDirectory.Write(directory, tmp =>
        {
            using (NewDisposeScope())
                SafeTensorsWriter.WriteSharded(tmp,
                    model.named_parameters().Where(p => weights?.Invoke(p.name) != false).Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter.detach().cpu())),
                    maxShardBytes: 2_000_000_000);
            WriteConfig(Path.Combine(configDirectory, "config.json"), Path.Combine(tmp, "config.json"), model.parameters().First().dtype, editConfig);
            string generation = Path.Combine(configDirectory, "generation_config.json");
            if (File.Exists(generation)) TokenizerFiles.CopyContent(generation, Path.Combine(tmp, "generation_config.json"));
            TokenizerFiles.Write(tokenizerDirectory, tmp, chatTemplate);
        });
    }

    /// <summary>config.json as the source's, with torch_dtype naming the dtype the weights are saved in.</summary>
    static void WriteConfig(string source, string target, ScalarType dtype, Action<JsonObject>? edit)
    {
        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(source)) as JsonObject ?? throw new InvalidDataException($"{source}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        if (config.ContainsKey("torch_dtype"))
            config["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : dtype == ScalarType.Float16 ? "float16" : "float32";
        edit?.Invoke(config);
        File.WriteAllText(target, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
