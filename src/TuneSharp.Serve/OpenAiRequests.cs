using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Serve;

/// <summary>Sampling fields common to /v1/chat/completions and /v1/completions, as the client sent them.</summary>
public sealed record SamplingFields(
    int? MaxTokens, double? Temperature, double? TopP, int? TopK, double? MinP, double? RepetitionPenalty,
    IReadOnlyList<string> Stop, long? Seed);

/// <summary>A chat or text completion request, mapped from the wire JSON. Exactly one of Messages / Prompt is set.</summary>
public sealed record CompletionRequest(
    string Model, JsonArray? Messages, string? Prompt, SamplingFields Sampling, bool Stream, bool IncludeUsage);

/// <summary>
/// Reads OpenAI request bodies into <see cref="CompletionRequest"/>. Unknown fields are ignored, as OpenAI does;
/// a known field with a wrong type or value is a 400 naming it.
/// </summary>
public static class OpenAiRequests
{
    static readonly string[] Roles = ["system", "user", "assistant"];

    public static CompletionRequest ParseChat(ReadOnlySpan<byte> body)
    {
        var root = ParseObject(body);
        var messages = root["messages"] as JsonArray ?? throw (root["messages"] is null
            ? new ApiException(400, "'messages' is a required property", param: "messages", code: "missing_required_parameter")
            : ApiException.BadField("messages", "'messages' must be an array"));
        if (messages.Count == 0) throw ApiException.BadField("messages", "'messages' must contain at least one message");
        var normalized = new JsonArray();
        for (int i = 0; i < messages.Count; i++) normalized.Add(Message(messages[i], $"messages[{i}]"));
        return Common(root, normalized, null);
    }

    public static CompletionRequest ParseCompletion(ReadOnlySpan<byte> body)
    {
        var root = ParseObject(body);
        string prompt = root["prompt"] switch
        {
            null => throw new ApiException(400, "'prompt' is a required property", param: "prompt", code: "missing_required_parameter"),
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonArray { Count: 1 } a when a[0] is JsonValue v && v.TryGetValue(out string? s) => s,
            _ => throw ApiException.BadField("prompt", "'prompt' must be a string (or an array of one string)"),
        };
        return Common(root, null, prompt);
    }

    static JsonObject ParseObject(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw new ApiException(400, "the request body must be a JSON object", code: "invalid_json");
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
    }

    static CompletionRequest Common(JsonObject root, JsonArray? messages, string? prompt)
    {
        string model = root["model"] switch
        {
            null => throw new ApiException(400, "'model' is a required property", param: "model", code: "missing_required_parameter"),
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => throw ApiException.BadField("model", "'model' must be a string"),
        };
        int? n = Int(root, "n");
        if (n is { } count && count != 1) throw ApiException.BadField("n", $"'n' = {count} is not supported (only 1)");
        int? maxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens");
        string maxName = root["max_completion_tokens"] is null ? "max_tokens" : "max_completion_tokens";
        if (maxTokens is < 1) throw ApiException.BadField(maxName, $"'{maxName}' must be at least 1");
        double? temperature = Number(root, "temperature");
        if (temperature is < 0 or > 2) throw ApiException.BadField("temperature", "'temperature' must be between 0 and 2");
        double? topP = Number(root, "top_p");
        if (topP is <= 0 or > 1) throw ApiException.BadField("top_p", "'top_p' must be greater than 0 and at most 1");
        int? topK = Int(root, "top_k");
        if (topK is < 0) throw ApiException.BadField("top_k", "'top_k' must be >= 0");
        double? minP = Number(root, "min_p");
        if (minP is < 0 or > 1) throw ApiException.BadField("min_p", "'min_p' must be between 0 and 1");
        double? repetition = Number(root, "repetition_penalty");
        if (repetition is <= 0) throw ApiException.BadField("repetition_penalty", "'repetition_penalty' must be > 0");
        long? seed = root["seed"] is null ? null : Get(root, "seed", "an integer", n => n.GetValue<long>());
        var stop = root["stop"] switch
        {
            null => [],
            JsonValue v when v.TryGetValue(out string? s) => [s],
            JsonArray a => a.Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s
                : throw ApiException.BadField("stop", "'stop' must be a string or an array of strings")).ToList(),
            _ => throw ApiException.BadField("stop", "'stop' must be a string or an array of strings"),
        };
        bool stream = root["stream"] is not null && Get(root, "stream", "a boolean", n => n.GetValue<bool>());
        bool includeUsage = root["stream_options"] switch
        {
            null => false,
            JsonObject o => o["include_usage"] is { } u && Get(o, "include_usage", "a boolean", _ => u.GetValue<bool>(), "stream_options.include_usage"),
            _ => throw ApiException.BadField("stream_options", "'stream_options' must be an object"),
        };
        var sampling = new SamplingFields(maxTokens, temperature, topP, topK, minP, repetition, stop, seed);
        return new CompletionRequest(model, messages, prompt, sampling, stream, includeUsage);
    }

    /// <summary>One message as the template expects it: role and a string content (text parts joined).</summary>
    static JsonObject Message(JsonNode? node, string where)
    {
        if (node is not JsonObject m) throw ApiException.BadField(where, $"'{where}' must be an object");
        string role = m["role"] is JsonValue r && r.TryGetValue(out string? rs) ? rs
            : throw ApiException.BadField($"{where}.role", $"'{where}.role' is required and must be a string");
        if (role == "developer") role = "system"; // OpenAI's newer name for the system role
        if (!Roles.Contains(role))
            throw ApiException.BadField($"{where}.role", $"'{where}.role' = '{role}' is not supported (system, user, assistant)");
        string content = m["content"] switch
        {
            null when role == "assistant" => "",
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonArray parts => string.Concat(parts.Select((p, j) => TextPart(p, $"{where}.content[{j}]"))),
            _ => throw ApiException.BadField($"{where}.content", $"'{where}.content' must be a string or an array of text parts"),
        };
        return new JsonObject { ["role"] = role, ["content"] = content };
    }

    static string TextPart(JsonNode? part, string where) =>
        part is JsonObject o && o["type"] is JsonValue t && t.TryGetValue(out string? type)
            ? type == "text" && o["text"] is JsonValue x && x.TryGetValue(out string? text) ? text
                : throw ApiException.BadField(where, $"'{where}': only text parts ({{\"type\": \"text\", \"text\": ...}}) are supported, not '{type}'")
            : throw ApiException.BadField(where, $"'{where}' must be an object with a 'type'");

    static int? Int(JsonObject o, string key) => o[key] is null ? null : Get(o, key, "an integer", n => n.GetValue<int>());

    static double? Number(JsonObject o, string key) => o[key] is null ? null : Get(o, key, "a number", n => n.GetValue<double>());

    static T Get<T>(JsonObject o, string key, string what, Func<JsonNode, T> read, string? param = null)
    {
        try
        {
            return read(o[key]!);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw ApiException.BadField(param ?? key, $"'{param ?? key}' must be {what}, not {o[key]!.ToJsonString()}");
        }
    }
}
