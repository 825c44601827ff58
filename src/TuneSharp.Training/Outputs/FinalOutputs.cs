using TuneSharp.Core.SafeTensors;
using TuneSharp.Peft;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Outputs;

/// <summary>What a finished run leaves for the ecosystem: a PEFT adapter, or a complete HF checkpoint.</summary>
public static class FinalOutputs
{
    /// <summary>Files copied from the base model folder into a full checkpoint.</summary>
    static readonly string[] CopiedFiles =
        ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"];

    /// <summary>Writes `{output}/adapter` (LoRA/DoRA/QLoRA) or `{output}/model` (full/freeze) and returns the folder.</summary>
    public static string Save(string outputDir, TrainableModel model, string baseModelNameOrPath)
    {
        if (model.Policy is { } policy)
        {
            string adapterDir = Path.Combine(outputDir, "adapter");
            AdapterIO.Save(adapterDir, model.Model, policy.Settings, baseModelNameOrPath);
            return adapterDir;
        }
        string dir = Path.Combine(outputDir, "model");
        SaveFullModel(dir, model);
        return dir;
    }

    /// <summary>An HF folder: config, sharded safetensors (+ index), tokenizer files, generation config.</summary>
    public static void SaveFullModel(string dir, TrainableModel model)
    {
        Directory.CreateDirectory(dir);
        using (var scope = NewDisposeScope())
            SafeTensorsWriter.WriteSharded(dir,
                model.Model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter.detach())),
                maxShardBytes: 2_000_000_000);
        foreach (var file in CopiedFiles)
        {
            string src = Path.Combine(model.Directory, file);
            if (!File.Exists(src)) continue;
            string tmp = Path.Combine(dir, file + ".tmp");
            File.Copy(src, tmp, overwrite: true);
            File.Move(tmp, Path.Combine(dir, file), overwrite: true);
        }
    }
}
