using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Graders;

/// <summary>
/// What one grade looks at: the dataset row (<c>item</c>) and the model's answer (<c>sample</c>), as OpenAI's graders
/// see them. Immutable and safe to share between threads (the item is held as a <see cref="JsonElement"/>;
/// <c>sample.output_json</c> is parsed once, on first use).
/// </summary>
public sealed class GraderContext
{
    readonly Lazy<JsonElement?> _outputJson;

    GraderContext(JsonElement item, string outputText, JsonElement? outputJson)
    {
        Item = item;
        OutputText = outputText;
        _outputJson = outputJson is { } given
            ? new Lazy<JsonElement?>(given)
            : new Lazy<JsonElement?>(() => TryParse(outputText), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The dataset row: <c>{{ item.x }}</c> reads from it.</summary>
    public JsonElement Item { get; }

    /// <summary>The model's answer as text: <c>{{ sample.output_text }}</c>.</summary>
    public string OutputText { get; }

    /// <summary>
    /// <c>{{ sample.output_json }}</c>: the answer parsed as JSON (given explicitly, or parsed from <see cref="OutputText"/>
    /// when it is a JSON document, optionally inside one ```json fence); null when it does not parse.
    /// </summary>
    public JsonElement? OutputJson => _outputJson.Value;

    /// <summary>A context from a JSON row (null = an empty object) and the model's text.</summary>
    public static GraderContext Create(JsonNode? item, string outputText, JsonNode? outputJson = null)
    {
        ArgumentNullException.ThrowIfNull(outputText);
        var element = item is null ? Empty() : JsonSerializer.SerializeToElement(item);
        return new GraderContext(element, outputText, outputJson is null ? null : JsonSerializer.SerializeToElement(outputJson));
    }

    /// <summary>A context from a parsed row (cloned, so the caller's document may be disposed).</summary>
    public static GraderContext Create(JsonElement item, string outputText)
    {
        ArgumentNullException.ThrowIfNull(outputText);
        return new GraderContext(item.ValueKind == JsonValueKind.Undefined ? Empty() : item.Clone(), outputText, null);
    }

    static JsonElement Empty() => JsonSerializer.SerializeToElement(new JsonObject());

    internal static JsonElement? TryParse(string text)
    {
        string s = text.Trim();
        // Chat models often wrap JSON in a fenced block; accept exactly one ```json ... ``` (or ``` ... ```) around the whole text.
        if (s.StartsWith("```", StringComparison.Ordinal) && s.EndsWith("```", StringComparison.Ordinal) && s.Length >= 6)
        {
            int newline = s.IndexOf('\n');
            if (newline > 0) s = s[(newline + 1)..^3].Trim();
        }
        if (s.Length == 0) return null;
        try
        {
            using var doc = JsonDocument.Parse(s);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
