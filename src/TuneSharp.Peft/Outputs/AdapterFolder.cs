using TuneSharp.Core.IO;
using TuneSharp.Models;

namespace TuneSharp.Peft.Outputs;

/// <summary>
/// A trained adapter's folder as TRL/PEFT leave it: adapter_config.json + adapter_model.safetensors
/// (<see cref="AdapterIO.Save"/>) and the tokenizer files with the chat template the adapter was trained with
/// (<see cref="TokenizerFiles"/>), so chat, serve, generate and export use that template by default. Written atomically
/// (staging folder renamed into place; an existing folder is replaced).
/// </summary>
public static class AdapterFolder
{
    /// <summary>Writes the folder; returns the reasons vLLM would not load the adapter as trained (<see cref="VllmCompatibility"/>).</summary>
    public static IReadOnlyList<string> Save(string directory, CausalLM model, LoraSettings settings, string? baseModelNameOrPath,
        string tokenizerDirectory, string? chatTemplate)
    {
        using var staged = StagedDirectory.Create(directory, replace: true);
        AdapterIO.Save(staged.Path, model, settings, baseModelNameOrPath);
        TokenizerFiles.Write(tokenizerDirectory, staged.Path, chatTemplate);
        staged.Commit();
        return VllmCompatibility.Problems(settings);
    }
}
