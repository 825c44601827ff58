using System.Text.Json.Nodes;

namespace TuneSharp.Serve;

/// <summary>The response objects of one request (chat.completion[.chunk] or text_completion), sharing id and created.</summary>
internal sealed class Reply(bool chat, string model)
{
    readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public bool Chat => chat;

    /// <summary>The non-streamed response.</summary>
    public JsonObject Whole(string text, GenerationResult result)
    {
        JsonObject choice = chat
            ? new() { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["logprobs"] = null, ["finish_reason"] = result.FinishReason }
            : new() { ["index"] = 0, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = result.FinishReason };
        var obj = Head(chat ? "chat.completion" : "text_completion");
        obj["choices"] = new JsonArray(choice);
        obj["usage"] = Usage(result);
        return obj;
    }

    /// <summary>One streamed chunk: a text delta (the first chat chunk carries the role), or the finish reason.</summary>
    public JsonObject Chunk(string text, string? finishReason, bool includeUsage, bool role = false)
    {
        JsonObject choice;
        if (chat)
        {
            var delta = new JsonObject();
            if (role) delta["role"] = "assistant";
            if (finishReason == null) delta["content"] = text;
            choice = new() { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason };
        }
        else choice = new() { ["index"] = 0, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = finishReason };
        var obj = Head(chat ? "chat.completion.chunk" : "text_completion");
        obj["choices"] = new JsonArray(choice);
        if (includeUsage) obj["usage"] = null; // OpenAI: null on every chunk but the last when usage is requested
        return obj;
    }

    /// <summary>The last chunk when stream_options.include_usage: no choices, the usage counts.</summary>
    public JsonObject UsageChunk(GenerationResult result)
    {
        var obj = Head(chat ? "chat.completion.chunk" : "text_completion");
        obj["choices"] = new JsonArray();
        obj["usage"] = Usage(result);
        return obj;
    }

    JsonObject Head(string type) => new() { ["id"] = _id, ["object"] = type, ["created"] = _created, ["model"] = model };

    static JsonObject Usage(GenerationResult r) => new()
    {
        ["prompt_tokens"] = r.PromptTokens,
        ["completion_tokens"] = r.CompletionTokens,
        ["total_tokens"] = r.PromptTokens + r.CompletionTokens,
    };
}
