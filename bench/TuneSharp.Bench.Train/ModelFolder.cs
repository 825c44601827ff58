using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Models.Families;
using static TorchSharp.torch;

namespace TuneSharp.Bench.Train;

/// <summary>An HF model folder with random fp32 weights (the HF Trainer's fp32 master weights) and a real tokenizer.</summary>
public static class ModelFolder
{
    /// <summary>Creates (or reuses, when its config.json is identical) <c>{work}/models/{shape}</c>; returns its path.</summary>
    public static string Ensure(string work, ModelShape shape, string fixtures, long seed = 1)
    {
        string dir = Path.Combine(work, "models", shape.Id);
        string config = shape.Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        string configPath = Path.Combine(dir, "config.json");
        string done = Path.Combine(dir, ".complete");
        if (File.Exists(done) && File.Exists(configPath) && File.ReadAllText(configPath) == config) return dir;

        Directory.CreateDirectory(dir);
        File.Delete(done);
        File.WriteAllText(configPath, config);
        string tokenizer = Path.Combine(fixtures, "tokenizers", shape.Tokenizer);
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
            if (File.Exists(Path.Combine(tokenizer, name)))
                File.Copy(Path.Combine(tokenizer, name), Path.Combine(dir, name), overwrite: true);
            else if (name == "tokenizer.json")
                throw new FileNotFoundException($"{Path.Combine(tokenizer, name)}: tokenizer fixture missing (set --fixtures)");

        var args = ModelFamilies.FromConfigFile(configPath);
        using (var model = new CausalLM(args, ScalarType.Float32))
        {
            ModelInit.Normal(model, seed);
            // Tied: only the embedding is stored, as HF does.
            SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"),
                model.named_parameters().Where(p => !(args.TieWordEmbeddings && p.name == "lm_head.weight"))
                    .Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
        }
        File.WriteAllText(done, "");
        return dir;
    }
}
