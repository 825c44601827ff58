using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;

namespace TuneSharp.Export.Ollama;

/// <summary>The Modelfile text and what was recognised (null when the template is unknown or absent) plus warnings.</summary>
public sealed record ModelfileResult(string Text, ChatFormat? Format, IReadOnlyList<string> Warnings);

/// <summary>
/// Writes an Ollama `Modelfile` for an exported GGUF: `FROM`, a `TEMPLATE` translated from the HF chat template (by
/// rendering a probe conversation through <see cref="ChatTemplate"/> and matching it against the known
/// <see cref="ChatFormat"/>s), `PARAMETER stop` for the end-of-turn strings, and sampling defaults from generation_config.json.
/// </summary>
public static class Modelfile
{
    static readonly ProbeTurn[] Probe =
    [
        new("system", "SYSTEM-PROBE"), new("user", "USER-PROBE-1"), new("assistant", "ASSISTANT-PROBE"), new("user", "USER-PROBE-2"),
    ];

    /// <summary>
    /// The known format that renders like <paramref name="chatTemplate"/>, or null. Whitespace is ignored when comparing,
    /// since template collections differ only in layout whitespace; the Go template then uses the format's own.
    /// </summary>
    public static ChatFormat? Recognize(string chatTemplate, string? bos, string? eos)
    {
        var template = ChatTemplate.FromSource(chatTemplate);
        foreach (var turns in new[] { Probe, Probe[1..] })
        {
            string rendered;
            try
            {
                rendered = template.Render(ToJson(turns), addGenerationPrompt: true, bosToken: bos, eosToken: eos);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                continue; // e.g. a template that rejects a system message: try the probe without it
            }
            string actual = Squash(rendered);
            if (bos is { Length: > 0 } && actual.StartsWith(bos, StringComparison.Ordinal)) actual = actual[bos.Length..];
            var match = ChatFormat.Known(eos ?? "</s>").FirstOrDefault(f => Squash(f.Render(turns)) == actual);
            if (match != null) return match;
        }
        return null;
    }

    /// <summary>Builds the Modelfile for <paramref name="ggufFileName"/> (relative to the Modelfile's folder).</summary>
    public static ModelfileResult Build(string ggufFileName, string? chatTemplate, string? bos, string? eos, string? generationConfigPath)
    {
        var warnings = new List<string>();
        ChatFormat? format = null;
        if (chatTemplate == null) warnings.Add("the tokenizer has no chat_template: the Modelfile uses a plain prompt template");
        else
        {
            format = Recognize(chatTemplate, bos, eos);
            if (format == null)
            {
                string head = chatTemplate.Length > 80 ? chatTemplate[..80] + "..." : chatTemplate;
                warnings.Add($"chat template not recognised (known: {string.Join(", ", ChatFormat.Known(eos ?? "</s>").Select(f => f.Name))}); the Modelfile uses a plain prompt template. Template: {head.ReplaceLineEndings("\\n")}");
            }
        }
        var sb = new StringBuilder();
        sb.Append("FROM ./").Append(ggufFileName).Append('\n');
        string goTemplate = format?.GoTemplate ?? "{{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}";
        sb.Append("TEMPLATE \"\"\"").Append(goTemplate).Append("\"\"\"\n");
        foreach (string stop in format?.Stops ?? []) sb.Append("PARAMETER stop ").Append(Quote(stop)).Append('\n');
        foreach (var (key, value) in SamplingParameters(generationConfigPath))
            sb.Append("PARAMETER ").Append(key).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return new ModelfileResult(sb.ToString(), format, warnings);
    }

    /// <summary>Ollama parameters from generation_config.json: greedy (temperature 0) when do_sample is false.</summary>
    public static IReadOnlyList<(string Key, double Value)> SamplingParameters(string? generationConfigPath)
    {
        if (generationConfigPath == null || !File.Exists(generationConfigPath)) return [];
        JsonObject cfg;
        try
        {
            cfg = JsonNode.Parse(File.ReadAllText(generationConfigPath))?.AsObject() ?? throw new InvalidDataException($"{generationConfigPath}: not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{generationConfigPath}: invalid JSON: {e.Message}", e);
        }
        if (cfg["do_sample"] is JsonValue ds && ds.TryGetValue(out bool doSample) && !doSample) return [("temperature", 0)];
        var result = new List<(string, double)>();
        foreach (var (hf, ollama) in new[] { ("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"), ("repetition_penalty", "repeat_penalty") })
            if (cfg[hf] is JsonValue v && v.TryGetValue(out double d)) result.Add((ollama, d));
        return result;
    }

    static JsonArray ToJson(IEnumerable<ProbeTurn> turns) =>
        [.. turns.Select(t => (JsonNode)new JsonObject { ["role"] = t.Role, ["content"] = t.Content })];

    static string Squash(string s) => string.Concat(s.Where(c => !char.IsWhiteSpace(c)));

    // Modelfile values are Go-quoted strings.
    static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
