using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;

namespace TuneSharp.Data.Encoding;

/// <summary>How an assistant turn's character span was found in the full rendering.</summary>
public enum SpanMethod
{
    /// <summary>The rendering of the earlier messages (with the generation prompt) is a prefix of the full rendering.</summary>
    Prefix,
    /// <summary>Fallback: header and content searched in the full rendering after the previous turn.</summary>
    Search,
}

/// <summary>An assistant message's trained span [Start, End) of the rendered text: its output up to and including the
/// end-of-turn marker, without the role header.</summary>
public sealed record AssistantSpan(int MessageIndex, int Start, int End, SpanMethod Method);

/// <summary>A conversation rendered with its chat template, and the spans of its assistant turns.</summary>
public sealed record ChatRendering(string Text, IReadOnlyList<AssistantSpan> Assistant);

/// <summary>
/// Renders conversations exactly as HF <c>apply_chat_template(messages, tools=tools, tokenize=False)</c> and locates the
/// assistant turns (see docs/data-pipeline.md, "Label masks"). Thread-safe.
/// </summary>
public sealed class ChatRenderer
{
    const string ProbeUser = "TuneSharpProbeQuestion", ProbeReply = "TuneSharpProbeReply";
    readonly ChatTemplate template;
    readonly string? bos, eos;
    readonly IReadOnlyDictionary<string, object?>? variables;

    /// <param name="isSpecialAt">Returns the special token (its text) that starts at a position of a string, or null:
    /// used once to infer the template's end-of-turn marker.</param>
    public ChatRenderer(ChatTemplate template, string? bosToken, string? eosToken, IReadOnlyDictionary<string, object?>? variables,
        Func<string, int, string?> isSpecialAt)
    {
        this.template = template;
        bos = bosToken;
        eos = eosToken;
        this.variables = variables;
        EndOfTurn = InferEndOfTurn(isSpecialAt);
    }

    /// <summary>A renderer whose special tokens are those of <paramref name="tokenizer"/> (BOS/EOS text included).</summary>
    public static ChatRenderer For(HfTokenizer tokenizer, ChatTemplate template, IReadOnlyDictionary<string, object?>? variables = null) =>
        new(template, tokenizer.BosToken, tokenizer.EosToken, variables, (text, index) => SpecialTokenAt(tokenizer, text, index));

    /// <summary>The special token (text) of <paramref name="tokenizer"/> that starts at <paramref name="index"/> of
    /// <paramref name="text"/>, or null.</summary>
    static string? SpecialTokenAt(HfTokenizer tokenizer, string text, int index)
    {
        var enc = tokenizer.EncodeWithOffsets(text, addSpecialTokens: false);
        for (int t = 0; t < enc.Ids.Length; t++)
            if (enc.Starts[t] == index && (tokenizer.SpecialTokenIds.Contains(enc.Ids[t]) || enc.Ids[t] == tokenizer.EosTokenId))
                return text[enc.Starts[t]..enc.Ends[t]];
        return null;
    }

    /// <summary>
    /// The text the template writes right after an assistant reply to close the turn (<c>&lt;|im_end|&gt;</c>,
    /// <c>&lt;|eot_id|&gt;</c>, <c>&lt;/s&gt;</c>), inferred from a probe conversation: the first special token after
    /// the reply, with only whitespace between. Null when the template writes none (then a turn ends with its content).
    /// </summary>
    public string? EndOfTurn { get; }

    /// <summary>Renders <paramref name="messages"/> (all of them, or the first <paramref name="count"/>).</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, int count, bool addGenerationPrompt, JsonArray? tools) =>
        template.Render(ToJson(messages, count), addGenerationPrompt, tools?.DeepClone().AsArray(), bos, eos, variables);

    /// <summary>Renders a conversation and finds the span of every assistant turn it can (see <see cref="SpanMethod"/>).
    /// Turns that cannot be located are missing from <see cref="ChatRendering.Assistant"/>.</summary>
    public ChatRendering RenderWithSpans(IReadOnlyList<ChatMessage> messages, JsonArray? tools)
    {
        string full = Render(messages, messages.Count, false, tools);
        var spans = new List<AssistantSpan>();
        int cursor = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != "assistant") continue;
            string? prefix = TryRender(messages, i, true, tools);
            string? upTo = i == messages.Count - 1 ? full : TryRender(messages, i + 1, false, tools);
            string key = ContentKey(messages[i].Content);
            var span = FromPrefix(full, prefix, upTo, key, cursor, i) ?? FromSearch(full, prefix, TryRender(messages, i, false, tools), key, cursor, i);
            if (span == null) continue;
            spans.Add(span);
            cursor = span.End;
        }
        return new ChatRendering(full, spans);
    }

    string? TryRender(IReadOnlyList<ChatMessage> messages, int count, bool addGenerationPrompt, JsonArray? tools)
    {
        try { return Render(messages, count, addGenerationPrompt, tools); }
        catch (Exception e) when (e is TemplateRaisedException or TemplateRuntimeException) { return null; }  // e.g. "must start with user"
    }

    /// <summary>
    /// Prefix method: the turn starts where render(messages[:i], add_generation_prompt=True) ends, provided that is a
    /// prefix of the full text; it ends after the first end-of-turn marker following its content, within the part that
    /// render(messages[:i+1]) shares with the full text.
    /// </summary>
    AssistantSpan? FromPrefix(string full, string? prefix, string? upTo, string key, int cursor, int index)
    {
        if (prefix == null || upTo == null || prefix.Length < cursor || !full.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int start = prefix.Length, regionEnd = CommonPrefixLength(full, upTo);
        if (regionEnd <= start) return null;
        int from = start;
        if (key.Length > 0)
        {
            int c = full.IndexOf(key, start, regionEnd - start, StringComparison.Ordinal);
            if (c < 0) return null;
            from = c + key.Length;
        }
        int end = EndOfTurn == null ? regionEnd : MarkerEnd(full, from, regionEnd);
        return end < 0 ? null : new AssistantSpan(index, start, end, SpanMethod.Prefix);
    }

    /// <summary>
    /// Search method (templates whose earlier renderings are not prefixes, e.g. Qwen3 drops the think blocks of earlier
    /// turns): after the previous turn, find the content; the turn starts after the last generation header
    /// (render with minus without add_generation_prompt) before it, else at the content; it ends after the next
    /// end-of-turn marker, else with the content.
    /// </summary>
    AssistantSpan? FromSearch(string full, string? prefix, string? withoutPrompt, string key, int cursor, int index)
    {
        string? header = prefix != null && withoutPrompt != null && prefix.Length > withoutPrompt.Length
            && prefix.StartsWith(withoutPrompt, StringComparison.Ordinal) ? prefix[withoutPrompt.Length..] : null;
        // Headers like "<|im_start|>assistant\n<think>\n\n</think>\n\n" (enable_thinking=False) only partly appear in
        // earlier turns: fall back to the header's first line.
        string? shortHeader = header?.IndexOf('\n') is int nl and >= 0 && nl + 1 < header.Length ? header[..(nl + 1)] : null;
        int c = key.Length > 0 ? full.IndexOf(key, cursor, StringComparison.Ordinal) : -1;
        if (key.Length > 0 && c < 0) return null;
        int limit = c >= 0 ? c : full.Length;
        int start = -1;
        foreach (string? h in new[] { header, shortHeader })
        {
            if (h == null || start >= 0) continue;
            int at = c >= 0 ? LastIndexIn(full, h, cursor, limit) : full.IndexOf(h, cursor, StringComparison.Ordinal);
            if (at >= 0) start = at + h.Length;
        }
        if (start < 0) start = c;
        if (start < 0) return null;
        int from = c >= 0 ? c + key.Length : start;
        int end = EndOfTurn == null ? from : MarkerEnd(full, from, full.Length);
        if (end < 0) end = c >= 0 ? from : -1;
        return end <= start ? null : new AssistantSpan(index, start, end, SpanMethod.Search);
    }

    /// <summary>Last occurrence of <paramref name="value"/> fully inside [from, limit), or -1.</summary>
    static int LastIndexIn(string text, string value, int from, int limit)
    {
        if (limit - from < value.Length) return -1;
        int at = text.LastIndexOf(value, limit - 1, limit - from, StringComparison.Ordinal);
        return at >= 0 && at + value.Length <= limit ? at : -1;
    }

    int MarkerEnd(string text, int from, int limit)
    {
        int at = text.IndexOf(EndOfTurn!, from, limit - from, StringComparison.Ordinal);
        return at < 0 ? -1 : at + EndOfTurn!.Length;
    }

    /// <summary>The text searched for: the content after any &lt;/think&gt; (templates move reasoning out), trimmed
    /// (templates often trim).</summary>
    static string ContentKey(string? content)
    {
        if (string.IsNullOrEmpty(content)) return "";
        int think = content.LastIndexOf("</think>", StringComparison.Ordinal);
        return (think >= 0 ? content[(think + "</think>".Length)..] : content).Trim();
    }

    static int CommonPrefixLength(string a, string b) => a.AsSpan().CommonPrefixLength(b);

    string? InferEndOfTurn(Func<string, int, string?> isSpecialAt)
    {
        var probe = new[] { new ChatMessage("user", ProbeUser), new ChatMessage("assistant", ProbeReply) };
        string? text = TryRender(probe, 2, false, null);
        int at = text?.IndexOf(ProbeReply, StringComparison.Ordinal) ?? -1;
        if (text == null || at < 0) return eos;
        int i = at + ProbeReply.Length;
        while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
        return i < text.Length ? isSpecialAt(text, i) : null;
    }

    /// <summary>OpenAI-style message objects as templates expect them (only the optional keys that are set).</summary>
    static JsonArray ToJson(IReadOnlyList<ChatMessage> messages, int count)
    {
        var array = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            var m = messages[i];
            var o = new JsonObject { ["role"] = m.Role, ["content"] = m.Content };
            if (m.ToolCalls != null) o["tool_calls"] = m.ToolCalls.DeepClone();
            if (m.Name != null) o["name"] = m.Name;
            if (m.ToolCallId != null) o["tool_call_id"] = m.ToolCallId;
            if (m.ReasoningContent != null) o["reasoning_content"] = m.ReasoningContent;
            array.Add(o);
        }
        return array;
    }
}
