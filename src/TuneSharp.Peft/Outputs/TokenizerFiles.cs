using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Peft.Outputs;

/// <summary>
/// The tokenizer files saved with a trained model or adapter, as transformers' tokenizer.save_pretrained (and TRL's
/// trainer) leave them: tokenizer.json and its companions copied from the source folder, tokenizer_config.json with the
/// chat template the model was trained with as <c>chat_template</c>, and the same text in <c>chat_template.jinja</c>
/// (transformers 4.47+ reads that file first; older versions read the config key).
/// </summary>
public static class TokenizerFiles
{
    public const string ConfigFile = "tokenizer_config.json", TemplateFile = "chat_template.jinja";

    /// <summary>Copied as they are when present.</summary>
    static readonly string[] Copied =
        ["tokenizer.json", "tokenizer.model", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt"];

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes the tokenizer files of <paramref name="sourceDirectory"/> into <paramref name="directory"/> with
    /// <paramref name="chatTemplate"/> as their chat template (null keeps the source's, if any).
    /// </summary>
    public static void Write(string sourceDirectory, string directory, string? chatTemplate)
    {
        Directory.CreateDirectory(directory);
        foreach (string file in Copied)
        {
            string src = Path.Combine(sourceDirectory, file);
            if (File.Exists(src)) CopyContent(src, Path.Combine(directory, file));
        }
        string sourceConfig = Path.Combine(sourceDirectory, ConfigFile), sourceTemplate = Path.Combine(sourceDirectory, TemplateFile);
        if (chatTemplate == null)
        {
            if (File.Exists(sourceConfig)) CopyContent(sourceConfig, Path.Combine(directory, ConfigFile));
            if (File.Exists(sourceTemplate)) CopyContent(sourceTemplate, Path.Combine(directory, TemplateFile));
            return;
        }
        var config = File.Exists(sourceConfig) ? ReadObject(sourceConfig) : new JsonObject();
        config["chat_template"] = chatTemplate;
        File.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(Indented) + "\n");
        File.WriteAllText(Path.Combine(directory, TemplateFile), chatTemplate);
    }

    /// <summary>
    /// Copies the bytes only (a read-only source, e.g. a shared model folder, must not make the output read-only;
    /// a symlinked hub-cache file is copied as its target's content).
    /// </summary>
    public static void CopyContent(string source, string target)
    {
        using var from = File.OpenRead(source);
        using var to = File.Create(target);
        from.CopyTo(to);
    }

    static JsonObject ReadObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }
}
