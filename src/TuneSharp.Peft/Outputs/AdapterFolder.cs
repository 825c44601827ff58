using TuneSharp.Core.IO;
using TuneSharp.Models;

namespace TuneSharp.Peft.Outputs;

/// <summary>
/// A trained adapter's folder as TRL/PEFT leave it: adapter_config.json + adapter_model.safetensors
/// (<see cref="AdapterIO.Save"/>) and the tokenizer files with the chat template the adapter was trained with
/// (<see cref="TokenizerFiles"/>), so chat, serve, generate and export use that template by default. Written atomically
/// (<see cref="AtomicDirectory"/>: temporary folder renamed into place; an existing folder is replaced).
/// </summary>
public static class AdapterFolder
{
    /// <summary>Writes the folder; returns the reasons vLLM would not load the adapter as trained (<see cref="VllmCompatibility"/>).</summary>
    public static IReadOnlyList<string> Save(string directory, CausalLM model, LoraSettings settings, string? baseModelNameOrPath,
        string tokenizerDirectory, string? chatTemplate)
    {
        AtomicDirectory.Write(directory, tmp =>
        {
            AdapterIO.Save(tmp, model, settings, baseModelNameOrPath);
            TokenizerFiles.Write(tokenizerDirectory, tmp, chatTemplate);
        });
        return VllmCompatibility.Problems(settings);
    }
}
