using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>Where an example came from: file and 1-based line (JSONL/TXT) or row (JSON array, CSV, Parquet).</summary>
public sealed record SourceLocation(string File, long Line)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>
/// One chat message in OpenAI form. Roles: system, developer, user, assistant, tool. <see cref="Weight"/> (assistant only):
/// 0 excludes the turn from the loss, 1 includes it, null follows the label policy.
/// </summary>
public sealed record ChatMessage(string Role, string? Content)
{
    public double? Weight { get; init; }
    /// <summary>OpenAI `tool_calls` (array of {id, type: "function", function: {name, arguments}}), kept as JSON for templates.</summary>
    public JsonArray? ToolCalls { get; init; }
    public string? Name { get; init; }
    public string? ToolCallId { get; init; }
    /// <summary>Reasoning / thinking text (rendered by templates that support it, e.g. Qwen3's `reasoning_content`).</summary>
    public string? ReasoningContent { get; init; }
}

/// <summary>A normalized training example, whatever file format it came from.</summary>
public abstract record Example(SourceLocation Source);

/// <summary>A conversation (OpenAI chat, ShareGPT, Alpaca with history) with optional tool definitions.</summary>
public sealed record ChatExample(SourceLocation Source, IReadOnlyList<ChatMessage> Messages, JsonArray? Tools = null) : Example(Source);

/// <summary>Prompt/completion pair rendered without a chat template (loss on the completion by default).</summary>
public sealed record CompletionExample(SourceLocation Source, string Prompt, string Completion) : Example(Source);

/// <summary>Raw text for continued pretraining.</summary>
public sealed record TextExample(SourceLocation Source, string Text) : Example(Source);

/// <summary>A preference pair: shared prompt (messages) and two alternative assistant continuations.</summary>
public sealed record PreferenceExample(SourceLocation Source, IReadOnlyList<ChatMessage> Prompt,
    IReadOnlyList<ChatMessage> Chosen, IReadOnlyList<ChatMessage> Rejected, JsonArray? Tools = null) : Example(Source)
{
    /// <summary>The record's optional <c>margin</c>: how much better chosen is than rejected (reward models, as TRL's
    /// RewardTrainer: -log sigma(r_chosen - r_rejected - margin)); null = none.</summary>
    public double? Margin { get; init; }
}

/// <summary>KTO: a prompt and one completion labelled desirable (true) or undesirable (false).</summary>
public sealed record KtoExample(SourceLocation Source, IReadOnlyList<ChatMessage> Prompt,
    IReadOnlyList<ChatMessage> Completion, bool Label, JsonArray? Tools = null) : Example(Source);
