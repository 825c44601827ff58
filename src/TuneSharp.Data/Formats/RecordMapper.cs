using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TuneSharp.Data;

/// <summary>Maps one raw JSON record to a normalized <see cref="Example"/> (column mapping, format detection, per-format rules).</summary>
internal static partial class RecordMapper
{
    public static Example? Map(RawRecord raw, DatasetSpec spec, List<DataProblem> problems, out DataFormat? format)
    {
        format = null;
        var ctx = new RecordContext(raw, problems);
        var rec = raw.Json!;
        if (raw.PlainText) format = DataFormat.Text;
        else
        {
            if (spec.Columns is { Count: > 0 } columns) rec = ApplyColumns(rec, columns);
            if (spec.Format is { } forced)
            {
                format = forced;
                ctx.Detection = $"format {forced} set in the dataset spec";
            }
            else
            {
                var d = FormatDetector.Detect(rec);
                format = d.Format;
                ctx.Detection = d.Reason;
                if (d.Format is null)
                {
                    ctx.Detection = "";
                    ctx.Add(ProblemCodes.UnknownFormat, null, d.Reason, "rename the fields, or set 'format' and 'columns' in the dataset spec");
                    return null;
                }
            }
        }
        var tags = spec.Tags ?? ShareGptTags.Default;
        Example? ex = format switch
        {
            DataFormat.Chat => Chat(ctx, rec, tags, "messages"),
            DataFormat.ShareGpt => Chat(ctx, rec, tags, rec.ContainsKey("conversations") || !rec.ContainsKey("messages") ? "conversations" : "messages"),
            DataFormat.Alpaca => Alpaca(ctx, rec),
            DataFormat.Completion => Completion(ctx, rec, tags),
            DataFormat.Text => Text(ctx, rec),
            DataFormat.Preference => Preference(ctx, rec, tags),
            DataFormat.Kto => Kto(ctx, rec, tags),
            _ => null,
        };
        return ctx.Failed ? null : ex;
    }

    /// <summary>Builds a record whose canonical fields come from the mapped source fields or paths (<c>a.b[0].c</c>).</summary>
    static JsonObject ApplyColumns(JsonObject rec, IReadOnlyDictionary<string, string> columns)
    {
        var mappedRoots = columns.Values.Select(p => p.Split('.', '[')[0]).ToHashSet(StringComparer.Ordinal);
        var result = new JsonObject();
        foreach (var (key, value) in rec)
            if (!mappedRoots.Contains(key) && !columns.ContainsKey(key)) result[key] = value?.DeepClone();
        foreach (var (canonical, source) in columns)
            if (Resolve(rec, source) is { } v) result[canonical] = v.DeepClone();
        return result;
    }

    static JsonNode? Resolve(JsonNode? node, string path)
    {
        foreach (Match m in PathPart().Matches(path))
        {
            if (m.Groups[1].Success) node = node is JsonObject o ? o[m.Groups[1].Value] : null;
            else node = node is JsonArray a && int.TryParse(m.Groups[2].Value, out int i) && i < a.Count ? a[i] : null;
            if (node is null) return null;
        }
        return node;
    }

    [GeneratedRegex(@"([^.\[\]]+)|\[(\d+)\]")]
    private static partial Regex PathPart();

    static ChatExample? Chat(RecordContext ctx, JsonObject rec, ShareGptTags tags, string key)
    {
        var messages = MessageParser.List(ctx, rec[key], key, tags);
        var tools = MessageParser.Tools(ctx, rec["tools"], "tools");
        string? system = rec["system"] is null ? null : ctx.String(rec, "system", "system", false);
        if (messages is null) return null;
        if (!string.IsNullOrEmpty(system) && messages[0].Role != "system") messages.Insert(0, new ChatMessage("system", system));
        RequireAssistant(ctx, messages, key);
        return new ChatExample(ctx.At, messages, tools);
    }

    static void RequireAssistant(RecordContext ctx, IReadOnlyList<ChatMessage> messages, string field)
    {
        if (!messages.Any(m => m.Role == "assistant"))
            ctx.Add(ProblemCodes.MissingAssistantMessage, field, "example has no assistant message",
                "add at least one assistant message (the training target)");
    }

    static ChatExample? Alpaca(RecordContext ctx, JsonObject rec)
    {
        string? instruction = ctx.String(rec, "instruction", "instruction", true);
        string? input = ctx.String(rec, "input", "input", false);
        string? output = ctx.String(rec, "output", "output", true);
        string? system = ctx.String(rec, "system", "system", false);
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(system)) messages.Add(new ChatMessage("system", system));
        if (rec["history"] is { } history and not JsonValue)
        {
            if (history is not JsonArray turns) ctx.WrongType("history", history, "a list of [user, assistant] pairs");
            else
                for (int i = 0; i < turns.Count; i++)
                {
                    if (turns[i] is JsonArray { Count: 2 } pair && RecordContext.IsString(pair[0], out var u) && RecordContext.IsString(pair[1], out var a))
                    {
                        messages.Add(new ChatMessage("user", u));
                        messages.Add(new ChatMessage("assistant", a));
                    }
                    else ctx.WrongType($"history[{i}]", turns[i], "a [user, assistant] pair of strings");
                }
        }
        if (output is { Length: 0 })
            ctx.Add(ProblemCodes.EmptyCompletion, "output", "'output' is empty", "give every example a non-empty output");
        if (instruction is null || output is null) return null;
        messages.Add(new ChatMessage("user", string.IsNullOrEmpty(input) ? instruction : instruction + "\n" + input));
        messages.Add(new ChatMessage("assistant", output));
        return new ChatExample(ctx.At, messages);
    }

    static Example? Completion(RecordContext ctx, JsonObject rec, ShareGptTags tags)
    {
        // TRL conversational prompt-completion: both sides are message lists.
        if (rec["prompt"] is JsonArray && rec["completion"] is JsonArray)
        {
            var prompt = MessageParser.List(ctx, rec["prompt"], "prompt", tags);
            var completion = MessageParser.List(ctx, rec["completion"], "completion", tags);
            if (prompt is null || completion is null) return null;
            RequireAssistant(ctx, completion, "completion");
            return new ChatExample(ctx.At, [.. prompt, .. completion], MessageParser.Tools(ctx, rec["tools"], "tools"));
        }
        string? p = ctx.String(rec, "prompt", "prompt", true);
        string? c = ctx.String(rec, "completion", "completion", true);
        if (c is { Length: 0 }) ctx.Add(ProblemCodes.EmptyCompletion, "completion", "'completion' is empty", "give every example a non-empty completion");
        return p is null || c is null ? null : new CompletionExample(ctx.At, p, c);
    }

    static TextExample? Text(RecordContext ctx, JsonObject rec)
    {
        string? text = ctx.String(rec, "text", "text", true);
        if (text is { Length: 0 }) ctx.Add(ProblemCodes.MissingContent, "text", "'text' is empty", "remove empty documents");
        return text is null ? null : new TextExample(ctx.At, text);
    }

    static PreferenceExample? Preference(RecordContext ctx, JsonObject rec, ShareGptTags tags)
    {
        List<ChatMessage>? prompt, chosen, rejected;
        JsonArray? tools;
        if (rec["input"] is JsonObject input && rec.ContainsKey("preferred_output"))
        {
            // OpenAI DPO: {input: {messages, tools?}, preferred_output: [...], non_preferred_output: [...]}
            prompt = MessageParser.List(ctx, input["messages"], "input.messages", tags);
            tools = MessageParser.Tools(ctx, input["tools"], "input.tools");
            chosen = MessageParser.List(ctx, rec["preferred_output"], "preferred_output", tags);
            rejected = MessageParser.List(ctx, rec["non_preferred_output"], "non_preferred_output", tags);
        }
        else
        {
            tools = MessageParser.Tools(ctx, rec["tools"], "tools");
            string? promptKey = new[] { "prompt", "messages", "conversations" }.FirstOrDefault(rec.ContainsKey);
            prompt = promptKey is null ? AlpacaPrompt(ctx, rec) ?? [] : MessageParser.Turns(ctx, rec[promptKey], promptKey, "user", tags);
            if (promptKey is null && rec.ContainsKey("instruction")) promptKey = "instruction";
            if (!string.IsNullOrEmpty(RecordContext.IsString(rec["system"], out var sys) ? sys : null) && prompt is { } p0 && (p0.Count == 0 || p0[0].Role != "system"))
                prompt.Insert(0, new ChatMessage("system", sys));
            chosen = Side(ctx, rec["chosen"], "chosen", tags);
            rejected = Side(ctx, rec["rejected"], "rejected", tags);
            if (promptKey is null && chosen != null && rejected != null)
            {
                // Implicit prompt (HH-RLHF transcripts, TRL implicit-prompt lists): split off the shared turns.
                (prompt, chosen, rejected) = SplitSharedPrefix(chosen, rejected);
                if (prompt.Count == 0)
                    ctx.Add(ProblemCodes.MissingField, "prompt", "no 'prompt' and 'chosen'/'rejected' share no leading turns",
                        "add 'prompt' (or 'messages') holding the conversation before the compared answers");
            }
        }
        if (prompt is null || chosen is null || rejected is null) return null;
        foreach (var (side, name) in new[] { (chosen, "chosen"), (rejected, "rejected") })
        {
            if (side.Count == 0 || side.All(m => string.IsNullOrEmpty(m.Content) && m.ToolCalls is null))
                ctx.Add(ProblemCodes.EmptyCompletion, name, $"'{name}' has no answer", $"give '{name}' a non-empty assistant answer");
            else RequireAssistant(ctx, side, name);
        }
        return new PreferenceExample(ctx.At, prompt, chosen, rejected, tools) { Margin = Margin(ctx, rec["margin"]) };
    }

    /// <summary>A pair's optional numeric <c>margin</c> (reward models); anything but a finite number is a problem.</summary>
    static double? Margin(RecordContext ctx, JsonNode? node)
    {
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && double.IsFinite(v.GetValue<double>())) return v.GetValue<double>();
        ctx.Add(ProblemCodes.WrongType, "margin", $"margin {node.ToJsonString()} is not a number", "give 'margin' as a number (or leave it out)");
        return null;
    }

    /// <summary>Alpaca-style prompt (instruction + "\n" + input) as one user message; null when there is no instruction.</summary>
    static List<ChatMessage>? AlpacaPrompt(RecordContext ctx, JsonObject rec)
    {
        if (!rec.ContainsKey("instruction")) return null;
        string? instruction = ctx.String(rec, "instruction", "instruction", true);
        string? input = ctx.String(rec, "input", "input", false);
        return instruction is null ? null : [new ChatMessage("user", string.IsNullOrEmpty(input) ? instruction : instruction + "\n" + input)];
    }

    /// <summary>One side of a pair: a message list/object, an HH-RLHF transcript string, or a plain answer string.</summary>
    static List<ChatMessage>? Side(RecordContext ctx, JsonNode? node, string field, ShareGptTags tags)
    {
        if (node is null)
        {
            ctx.Missing(field, "a string or messages");
            return null;
        }
        if (RecordContext.IsString(node, out var text) && HhTranscript.IsTranscript(text)) return HhTranscript.Parse(text);
        return MessageParser.Turns(ctx, node, field, "assistant", tags);
    }

    /// <summary>Prompt = longest common leading turns, backed up so both continuations start with an assistant turn.</summary>
    internal static (List<ChatMessage> Prompt, List<ChatMessage> Chosen, List<ChatMessage> Rejected) SplitSharedPrefix(
        List<ChatMessage> chosen, List<ChatMessage> rejected)
    {
        int n = 0;
        while (n < chosen.Count && n < rejected.Count && chosen[n].Role == rejected[n].Role && chosen[n].Content == rejected[n].Content) n++;
        while (n > 0 && !(n < chosen.Count && n < rejected.Count && chosen[n].Role == "assistant" && rejected[n].Role == "assistant")) n--;
        return (chosen[..n], chosen[n..], rejected[n..]);
    }

    static KtoExample? Kto(RecordContext ctx, JsonObject rec, ShareGptTags tags)
    {
        bool? label = rec["label"] switch
        {
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            JsonValue v when RecordContext.IsString(v, out var s) && s.ToLowerInvariant() is "true" or "1" => true,
            JsonValue v when RecordContext.IsString(v, out var s) && s.ToLowerInvariant() is "false" or "0" => false,
            _ => null,
        };
        if (label is null)
            ctx.Add(ProblemCodes.InvalidLabel, "label", $"label {rec["label"]?.ToJsonString() ?? "null"} is not a boolean",
                "label must be true (desirable) or false (undesirable)");
        List<ChatMessage>? prompt, completion;
        if (rec.ContainsKey("instruction"))
        {
            // LLaMA-Factory alpaca KTO: instruction (+ input) → prompt, output → completion.
            prompt = AlpacaPrompt(ctx, rec);
            completion = ctx.String(rec, "output", "output", true) is { } o ? [new ChatMessage("assistant", o)] : null;
        }
        else if (rec.ContainsKey("completion"))
        {
            string promptKey = new[] { "prompt", "messages", "conversations" }.FirstOrDefault(rec.ContainsKey) ?? "prompt";
            prompt = MessageParser.Turns(ctx, rec[promptKey], promptKey, "user", tags);
            completion = MessageParser.Turns(ctx, rec["completion"], "completion", "assistant", tags);
        }
        else
        {
            // LLaMA-Factory KTO: the last message of the conversation is the judged completion.
            string key = rec.ContainsKey("messages") ? "messages" : "conversations";
            var all = MessageParser.List(ctx, rec[key], key, tags);
            prompt = all?[..^1];
            completion = all?[^1..];
        }
        if (prompt is null || completion is null || label is null) return null;
        if (completion.All(m => string.IsNullOrEmpty(m.Content) && m.ToolCalls is null))
            ctx.Add(ProblemCodes.EmptyCompletion, "completion", "the completion is empty", "give the example a non-empty completion");
        else RequireAssistant(ctx, completion, "completion");
        return new KtoExample(ctx.At, prompt, completion, label.Value);
    }
}

/// <summary>Anthropic HH-RLHF transcripts: "\n\nHuman: ...\n\nAssistant: ..." → messages (contents trimmed).</summary>
internal static partial class HhTranscript
{
    [GeneratedRegex(@"(?:^|\n\n)(Human|Assistant):")]
    private static partial Regex Marker();

    public static bool IsTranscript(string text) =>
        text.StartsWith("\n\nHuman:", StringComparison.Ordinal) || text.StartsWith("Human:", StringComparison.Ordinal);

    public static List<ChatMessage> Parse(string text)
    {
        var result = new List<ChatMessage>();
        var matches = Marker().Matches(text);
        for (int i = 0; i < matches.Count; i++)
        {
            int start = matches[i].Index + matches[i].Length;
            int end = i + 1 < matches.Count ? matches[i + 1].Index : text.Length;
            string role = matches[i].Groups[1].Value == "Human" ? "user" : "assistant";
            result.Add(new ChatMessage(role, text[start..end].Trim()));
        }
        return result;
    }
}
