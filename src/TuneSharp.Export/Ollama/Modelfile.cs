using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;

namespace TuneSharp.Export.Ollama;

/// <summary>
/// The Modelfile text; the layout written as TEMPLATE (null: no TEMPLATE, Ollama takes the template from the GGUF); the
/// template's default system prompt written as SYSTEM (or null); warnings.
/// </summary>
public sealed record ModelfileResult(string Text, ChatFormat? Format, string? SystemPrompt, IReadOnlyList<string> Warnings);

/// <summary>The tokenizer facts a Modelfile depends on: the HF chat template, BOS/EOS strings, and whether BOS is prepended.</summary>
public sealed record ModelfileTokenizer(string? ChatTemplate, string? Bos, string? Eos, bool AddBos);

/// <summary>
/// Writes an Ollama Modelfile for an exported GGUF: <c>FROM</c>; a <c>TEMPLATE</c> and its <c>PARAMETER stop</c> lines
/// only when a known layout renders exactly what the HF chat template renders on probe conversations (with and without a
/// system message, one and several turns, generation prompt), checked with <see cref="GoTemplate"/> under Ollama's
/// message handling (<see cref="OllamaPrompt"/>); a <c>SYSTEM</c> line with the template's default system prompt; and
/// sampling defaults from generation_config.json.
/// </summary>
public static class Modelfile
{
    const string User1 = "What is 2 + 2?\nAnswer \"briefly\".", Assistant1 = "It is 4.", User2 = "And 3 + 3?", System = "You are terse.";

    /// <summary>The probe conversations (each rendered with the generation prompt).</summary>
    public static readonly IReadOnlyList<IReadOnlyList<ChatTurn>> Probes =
    [
        [new("user", User1)],
        [new("system", System), new("user", User1)],
        [new("user", User1), new("assistant", Assistant1), new("user", User2)],
        [new("system", System), new("user", User1), new("assistant", Assistant1), new("user", User2)],
    ];

    /// <summary>The Modelfile's name for a GGUF file: <c>model-q8_0.gguf</c> → <c>model-q8_0.Modelfile</c>, so exports share a folder.</summary>
    public static string FileNameFor(string ggufPath) => Path.GetFileNameWithoutExtension(ggufPath) + ".Modelfile";

    /// <summary>Builds the Modelfile for <paramref name="ggufFileName"/> (relative to the Modelfile's folder).</summary>
    public static ModelfileResult Build(string ggufFileName, ModelfileTokenizer tok, string? generationConfigPath)
    {
        var warnings = new List<string>();
        ChatFormat? format = null;
        string? system = null;
        if (tok.ChatTemplate == null)
            warnings.Add("the tokenizer has no chat_template: no TEMPLATE written (Ollama uses a plain {{ .Prompt }} template)");
        else
        {
            var hf = HfRenderer(ChatTemplate.FromSource(tok.ChatTemplate, "chat_template"), tok);
            system = DefaultSystemPrompt(hf);
            format = Match(hf, tok, system);
            if (format == null)
                warnings.Add("no Ollama layout renders exactly what the chat template renders (tried " +
                             string.Join(", ", ChatFormat.Known(tok.Bos ?? "<s>", tok.Eos ?? "</s>").Select(f => f.Name)) +
                             "): no TEMPLATE written; Ollama picks a template from the GGUF's tokenizer.chat_template");
            if (tok.AddBos && tok.Bos != null && hf(Probes[0]) is { } first && !first.StartsWith(tok.Bos, StringComparison.Ordinal))
                warnings.Add($"llama.cpp and Ollama start every prompt with BOS '{tok.Bos}' (tokenizer.ggml.add_bos_token), which the chat template does not write");
        }

        var sb = new StringBuilder();
        sb.Append("FROM ./").Append(ggufFileName).Append('\n');
        if (format != null) sb.Append("TEMPLATE \"\"\"").Append(format.GoTemplate).Append("\"\"\"\n");
        if (system != null)
        {
            if (system.Contains("\"\"\"", StringComparison.Ordinal))
            {
                warnings.Add("the chat template's default system prompt contains \"\"\" and cannot be written as SYSTEM");
                system = null;
            }
            else sb.Append("SYSTEM \"\"\"").Append(system).Append("\"\"\"\n");
        }
        foreach (string stop in format?.Stops ?? []) sb.Append("PARAMETER stop ").Append(Quote(stop)).Append('\n');
        foreach (var (key, value) in SamplingParameters(generationConfigPath))
            sb.Append("PARAMETER ").Append(key).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return new ModelfileResult(sb.ToString(), format, system, warnings);
    }

    /// <summary>
    /// The first known layout whose Go template, run as Ollama runs it (SYSTEM = <paramref name="system"/>), gives exactly
    /// the HF text on every probe the HF template can render. A leading BOS that llama.cpp adds itself (add_bos_token) is
    /// not compared; one it does not add, but the HF template writes, is written as text at the start of the TEMPLATE.
    /// </summary>
    static ChatFormat? Match(Func<IReadOnlyList<ChatTurn>, string?> hf, ModelfileTokenizer tok, string? system)
    {
        var expected = Probes.Select(p => (Probe: p, Text: hf(p)!)).Where(x => x.Text != null).ToList();
        if (expected.Count == 0 || hf(Probes[0]) == null) return null;
        string bos = tok.Bos ?? "";
        bool leadingBos = bos.Length > 0 && expected.All(x => x.Text.StartsWith(bos, StringComparison.Ordinal));
        if (leadingBos && tok.AddBos) expected = [.. expected.Select(x => (x.Probe, x.Text[bos.Length..]))];
        // Without add_bos_token the BOS text may be the template's own (Llama-3) or just its first token (SmolLM2's
        // BOS is <|im_start|>): both readings are tried.
        string[] prefixes = leadingBos && !tok.AddBos ? ["", bos] : [""];
        foreach (var known in ChatFormat.Known(tok.Bos ?? "<s>", tok.Eos ?? "</s>"))
            foreach (string prefix in prefixes)
            {
                var format = known with { GoTemplate = prefix + known.GoTemplate };
                var template = GoTemplate.Parse(format.GoTemplate);
                bool all = expected.All(x =>
                {
                    try { return OllamaPrompt.Render(template, x.Probe, system) == x.Text; }
                    catch (GoTemplateException) { return false; }
                });
                if (all) return format;
            }
        return null;
    }

    /// <summary>
    /// The system prompt the template writes when the conversation has none (SmolLM2, Qwen2.5): the text that takes the
    /// place of an explicit system message, confirmed by rendering it as one. Null when there is none.
    /// </summary>
    public static string? DefaultSystemPrompt(Func<IReadOnlyList<ChatTurn>, string?> hf)
    {
        const string marker = "SYSTEM-PROBE-7f3a";
        string? without = hf(Probes[0]);
        string? with = hf([new("system", marker), .. Probes[0]]);
        if (without == null || with == null) return null;
        int at = with.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) return null;
        string before = with[..at], after = with[(at + marker.Length)..];
        if (without.Length <= before.Length + after.Length
            || !without.StartsWith(before, StringComparison.Ordinal) || !without.EndsWith(after, StringComparison.Ordinal)) return null;
        string candidate = without[before.Length..^after.Length];
        return hf([new("system", candidate), .. Probes[0]]) == without ? candidate : null;
    }

    /// <summary>The HF template rendered as apply_chat_template does (generation prompt on), or null when it raises.</summary>
    static Func<IReadOnlyList<ChatTurn>, string?> HfRenderer(ChatTemplate template, ModelfileTokenizer tok) => turns =>
    {
        try
        {
            var json = new JsonArray([.. turns.Select(t => (JsonNode)new JsonObject { ["role"] = t.Role, ["content"] = t.Content })]);
            return template.Render(json, addGenerationPrompt: true, bosToken: tok.Bos, eosToken: tok.Eos);
        }
        catch (Exception e) when (e is TemplateRaisedException or TemplateRuntimeException)
        {
            return null; // e.g. a template that rejects a system message
        }
    };

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

    // Modelfile values are Go-quoted strings.
    static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
