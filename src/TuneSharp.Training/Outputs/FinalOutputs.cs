using TuneSharp.Models;
using TuneSharp.Peft.Outputs;
using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Outputs;

/// <summary>What a finished run leaves for the ecosystem: a PEFT adapter (and, with output.save_merged, the merged
/// model), or a complete HF checkpoint. Every folder is written atomically (temp folder + rename) and carries the chat
/// template the run trained with in its tokenizer files (none for pretraining: the base model's files are kept).</summary>
public static class FinalOutputs
{
    /// <summary>Writes `{output}/adapter` (+ `{output}/merged` with output.save_merged) for LoRA/DoRA/QLoRA, or
    /// `{output}/model` for full/freeze, and returns the folders written. Reasons vLLM would not load the adapter as
    /// trained go to <paramref name="log"/>.</summary>
    public static string Save(string outputDir, TrainableModel model, TrainConfig cfg, TextWriter? log = null) =>
        Save(outputDir, model, cfg.Model.Path, DataSetup.TrainedTemplate(cfg, model.Tokenizer)?.Source, cfg.Output.SaveMerged, log);

    /// <summary>The same for a known template (<paramref name="chatTemplate"/>; null keeps the base model's).</summary>
    public static string Save(string outputDir, TrainableModel model, string baseModelNameOrPath, string? chatTemplate,
        bool saveMerged = false, TextWriter? log = null)
    {
        if (model.Policy is { } policy)
        {
            string adapterDir = Path.Combine(outputDir, "adapter");
            foreach (string problem in AdapterFolder.Save(adapterDir, model.Model, policy.Settings, baseModelNameOrPath, model.Directory, chatTemplate))
                log?.WriteLine($"note: {problem}");
            if (!saveMerged) return adapterDir;
            string mergedDir = Path.Combine(outputDir, "merged");
            using (var merged = Peft.AdapterMerge.Merge(model.Model))
                SaveFullModel(mergedDir, merged, model.Directory, chatTemplate);
            return $"{adapterDir} and {mergedDir}";
        }
        string dir = Path.Combine(outputDir, "model");
        SaveFullModel(dir, model.Model, model.Directory, chatTemplate);
        return dir;
    }

    /// <summary>An HF folder: config, sharded safetensors (+ index), generation config and tokenizer files (with the template) from the base.</summary>
    public static void SaveFullModel(string dir, CausalLM model, string baseDirectory, string? chatTemplate = null) =>
        ModelFolder.Save(dir, model, baseDirectory, baseDirectory, chatTemplate, replace: true);
}
