using TuneSharp.Core.IO;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Outputs;

/// <summary>What a finished run leaves for the ecosystem: a PEFT adapter (and, with output.save_merged, the merged
/// model), or a complete HF checkpoint. Every folder is written atomically (temp folder + rename).</summary>
public static class FinalOutputs
{
    /// <summary>Files copied from the base model folder into a full checkpoint.</summary>
    static readonly string[] CopiedFiles =
        ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"];

    /// <summary>Writes `{output}/adapter` (+ `{output}/merged` with output.save_merged) for LoRA/DoRA/QLoRA, or
    /// `{output}/model` for full/freeze, and returns the folders written.</summary>
    public static string Save(string outputDir, TrainableModel model, TrainConfig cfg)
    {
        if (model.Policy is { } policy)
        {
            string adapterDir = Path.Combine(outputDir, "adapter");
            AtomicDirectory.Write(adapterDir, tmp => AdapterIO.Save(tmp, model.Model, policy.Settings, cfg.Model.Path));
            if (!cfg.Output.SaveMerged) return adapterDir;
            string mergedDir = Path.Combine(outputDir, "merged");
            using (var merged = AdapterMerge.Merge(model.Model))
                SaveFullModel(mergedDir, merged, model.Directory);
            return $"{adapterDir} and {mergedDir}";
        }
        string dir = Path.Combine(outputDir, "model");
        SaveFullModel(dir, model.Model, model.Directory);
        return dir;
    }

    /// <summary>An HF folder: config, sharded safetensors (+ index), tokenizer files and generation config copied from the base.</summary>
    public static void SaveFullModel(string dir, CausalLM model, string baseDirectory) => AtomicDirectory.Write(dir, tmp =>
    {
        using (var scope = NewDisposeScope())
            SafeTensorsWriter.WriteSharded(tmp,
                model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter.detach().cpu())),
                maxShardBytes: 2_000_000_000);
        foreach (var file in CopiedFiles)
        {
            string src = Path.Combine(baseDirectory, file);
            if (File.Exists(src)) File.Copy(src, Path.Combine(tmp, file));
        }
    });
}
