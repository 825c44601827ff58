using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>Parses OpenAI-style (role/content) and ShareGPT-style (from/value, LLaMA-Factory tags) messages and tools.</summary>
internal static class MessageParser
{
    static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>A message list; null when absent or invalid (problems are added).</summary>
    public static List<ChatMessage>? List(RecordContext ctx, JsonNode? node, string path, ShareGptTags tags)
    {
        if (node is not JsonArray array)
        {
            if (node is null) ctx.Add(ProblemCodes.MissingMessages, path, $"missing '{path}'", $"add '{path}': a list of messages");
            else ctx.WrongType(path, node, "a list of messages");
            return null;
        }
        if (array.Count == 0)
        {
            ctx.Add(ProblemCodes.MissingMessages, path, $"'{path}' is empty", "add at least one user and one assistant message");
            return null;
        }
        var result = new List<ChatMessage>(array.Count);
        bool ok = true;
        for (int i = 0; i < array.Count; i++)
        {
            var m = Message(ctx, array[i], $"{path}[{i}]", tags);
            if (m is null) ok = false;
            else result.Add(m);
        }
        return ok ? result : null;
    }

    /// <summary>A turn list given as a string (one message of <paramref name="role"/>), a message object, or a message list.</summary>
    public static List<ChatMessage>? Turns(RecordContext ctx, JsonNode? node, string path, string role, ShareGptTags tags)
    {
        if (RecordContext.IsString(node, out var text)) return [new ChatMessage(role, text)];
        if (node is JsonObject) return Message(ctx, node, path, tags) is { } m ? [m] : null;
        return List(ctx, node, path, tags);
    }

    public static ChatMessage? Message(RecordContext ctx, JsonNode? node, string path, ShareGptTags tags)
    {
        if (node is not JsonObject obj)
        {
            ctx.WrongType(path, node, "a message object");
            return null;
        }
        if (obj.ContainsKey("role")) return OpenAi(ctx, obj, path);
        if (obj.ContainsKey(tags.RoleTag)) return ShareGpt(ctx, obj, path, tags);
        ctx.Add(ProblemCodes.MissingField, $"{path}.role", "message has neither 'role' nor '" + tags.RoleTag + "'",
            "give every message a 'role' (OpenAI) or 'from' (ShareGPT)");
        return null;
    }

    static ChatMessage? OpenAi(RecordContext ctx, JsonObject obj, string path)
    {
        int before = ProblemCount(ctx);
        string? role = ctx.String(obj, "role", $"{path}.role", true);
        if (role != null && Array.IndexOf(Roles, role) < 0)
            ctx.Add(ProblemCodes.UnrecognizedRole, $"{path}.role", $"unrecognized role '{role}'",
                "use one of system, developer, user, assistant, tool");
        JsonArray? toolCalls = obj["tool_calls"] is { } tc ? ToolCalls(ctx, tc, $"{path}.tool_calls") : null;
        string? content = Content(ctx, obj["content"], $"{path}.content");
        if (obj["content"] is null && (role != "assistant" || toolCalls is null) && obj["tool_calls"] is null)
            ctx.Add(ProblemCodes.MissingContent, $"{path}.content", "message has no content",
                "add 'content' (only assistant messages with tool_calls may omit it)");
        double? weight = null;
        if (obj["weight"] is { } w)
        {
            if (w is JsonValue wv && wv.GetValueKind() == JsonValueKind.Number && wv.GetValue<double>() is 0 or 1 && role == "assistant")
                weight = wv.GetValue<double>();
            else
                ctx.Add(ProblemCodes.InvalidWeight, $"{path}.weight", $"weight {w.ToJsonString()} on a {role ?? "?"} message",
                    "weight must be 0 or 1 and only on assistant messages");
        }
        string? name = obj["name"] is null ? null : ctx.String(obj, "name", $"{path}.name", false);
        string? toolCallId = obj["tool_call_id"] is null ? null : ctx.String(obj, "tool_call_id", $"{path}.tool_call_id", false);
        string? reasoning = obj["reasoning_content"] is null ? null : ctx.String(obj, "reasoning_content", $"{path}.reasoning_content", false);
        if (ProblemCount(ctx) != before || role is null) return null;
        return new ChatMessage(role, content) { Weight = weight, ToolCalls = toolCalls, Name = name, ToolCallId = toolCallId, ReasoningContent = reasoning };
    }

    static ChatMessage? ShareGpt(RecordContext ctx, JsonObject obj, string path, ShareGptTags tags)
    {
        string rolePath = $"{path}.{tags.RoleTag}", contentPath = $"{path}.{tags.ContentTag}";
        string? from = ctx.String(obj, tags.RoleTag, rolePath, true);
        string? value = ctx.String(obj, tags.ContentTag, contentPath, false);
        if (from is null) return null;
        if (obj[tags.ContentTag] is null)
        {
            ctx.Add(ProblemCodes.MissingContent, contentPath, "message has no content", $"add '{tags.ContentTag}'");
            return null;
        }
        if (value is null) return null;
        if (from == tags.UserTag) return new ChatMessage("user", value);
        if (from == tags.AssistantTag) return new ChatMessage("assistant", value);
        if (from == tags.SystemTag) return new ChatMessage("system", value);
        if (from == tags.ObservationTag) return new ChatMessage("tool", value);
        if (from == tags.FunctionTag)
        {
            JsonNode? call;
            try { call = JsonNode.Parse(value); }
            catch (JsonException e)
            {
                ctx.Add(ProblemCodes.InvalidToolCall, contentPath, $"function call is not valid JSON: {JsonRecords.Describe(e)}",
                    "write the call as {\"name\": ..., \"arguments\": {...}}");
                return null;
            }
            var calls = call is JsonArray ? call : new JsonArray(call);
            return ToolCalls(ctx, calls, contentPath) is { } tc ? new ChatMessage("assistant", null) { ToolCalls = tc } : null;
        }
        ctx.Add(ProblemCodes.UnrecognizedRole, rolePath, $"unrecognized {tags.RoleTag} '{from}'",
            $"use one of {tags.UserTag}, {tags.AssistantTag}, {tags.SystemTag}, {tags.FunctionTag}, {tags.ObservationTag} (or set 'tags')");
        return null;
    }

    /// <summary>Content as a string, or an array of {type: "text", text} parts joined without separator.</summary>
    static string? Content(RecordContext ctx, JsonNode? node, string path)
    {
        if (node is null) return null;
        if (RecordContext.IsString(node, out var s)) return s;
        if (node is not JsonArray parts)
        {
            ctx.WrongType(path, node, "a string or a list of text parts");
            return null;
        }
        var sb = new StringBuilder();
        for (int i = 0; i < parts.Count; i++)
        {
            if (parts[i] is JsonObject p && RecordContext.IsString(p["type"], out var type) && type == "text" && RecordContext.IsString(p["text"], out var text))
                sb.Append(text);
            else
            {
                string kind = parts[i] is JsonObject po && RecordContext.IsString(po["type"], out var t) ? $"'{t}'" : JsonRecords.Kind(parts[i]);
                ctx.Add(ProblemCodes.UnsupportedContentPart, $"{path}[{i}]", $"content part {kind} is not supported",
                    "only {\"type\": \"text\", \"text\": ...} parts are supported");
                return null;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Normalizes tool calls to OpenAI form {id?, type: "function", function: {name, arguments}} with arguments as a JSON
    /// object (string arguments are parsed). Accepts bare {name, arguments} items (ShareGPT function_call values).
    /// </summary>
    public static JsonArray? ToolCalls(RecordContext ctx, JsonNode node, string path)
    {
        if (node is not JsonArray items)
        {
            ctx.Add(ProblemCodes.InvalidToolCall, path, $"tool calls are a {JsonRecords.Kind(node)}, expected a list", "make 'tool_calls' a list");
            return null;
        }
        var result = new JsonArray();
        for (int i = 0; i < items.Count; i++)
        {
            string at = $"{path}[{i}]";
            var item = items[i] as JsonObject;
            var fn = item?["function"] as JsonObject ?? item;
            if (fn is null || !RecordContext.IsString(fn["name"], out var name) || name.Length == 0)
            {
                ctx.Add(ProblemCodes.InvalidToolCall, at, "tool call has no function name", "give each call {\"function\": {\"name\": ..., \"arguments\": ...}}");
                return null;
            }
            JsonNode? args = fn["arguments"]?.DeepClone() ?? new JsonObject();
            if (RecordContext.IsString(args, out var argText))
            {
                try { args = JsonNode.Parse(argText); }
                catch (JsonException e)
                {
                    ctx.Add(ProblemCodes.InvalidToolCall, $"{at}.arguments", $"arguments are not valid JSON: {JsonRecords.Describe(e)}",
                        "arguments must be a JSON object (or a string containing one)");
                    return null;
                }
            }
            if (args is not JsonObject)
            {
                ctx.Add(ProblemCodes.InvalidToolCall, $"{at}.arguments", $"arguments are a {JsonRecords.Kind(args)}, expected an object",
                    "arguments must be a JSON object");
                return null;
            }
            var call = new JsonObject();
            if (item?["id"] is { } id) call["id"] = id.DeepClone();
            call["type"] = "function";
            call["function"] = new JsonObject { ["name"] = name, ["arguments"] = args };
            result.Add(call);
        }
        return result;
    }

    /// <summary>Tool definitions in OpenAI form [{type: "function", function: {...}}]; a JSON string (ShareGPT) is parsed, bare functions wrapped.</summary>
    public static JsonArray? Tools(RecordContext ctx, JsonNode? node, string path)
    {
        if (node is null) return null;
        if (RecordContext.IsString(node, out var text))
        {
            if (text.Trim().Length == 0) return null;
            try { node = JsonNode.Parse(text); }
            catch (JsonException e)
            {
                ctx.Add(ProblemCodes.InvalidToolCall, path, $"tools string is not valid JSON: {JsonRecords.Describe(e)}", "make 'tools' a JSON list of functions");
                return null;
            }
        }
        if (node is not JsonArray items)
        {
            ctx.WrongType(path, node, "a list of tools");
            return null;
        }
        var result = new JsonArray();
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i] is JsonObject t && t["function"] is JsonObject) result.Add(t.DeepClone());
            else if (items[i] is JsonObject f && RecordContext.IsString(f["name"], out _))
                result.Add(new JsonObject { ["type"] = "function", ["function"] = f.DeepClone() });
            else
            {
                ctx.Add(ProblemCodes.InvalidToolCall, $"{path}[{i}]", "tool has no function name", "each tool is {\"type\": \"function\", \"function\": {\"name\": ...}}");
                return null;
            }
        }
        return result;
    }

    static int ProblemCount(RecordContext ctx) => ctx.ProblemCount;
}
