using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>Small helpers that read tokenizer JSON files and name the file and key in every error.</summary>
static class Json
{
    /// <summary>Parses a JSON file; a truncated or malformed file is an error naming the file and line.</summary>
    public static JsonDocument ParseFile(string path, JsonDocumentOptions options = default)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path), options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }

    public static JsonElement Property(JsonElement node, string name) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) ? v : default;

    public static string? OptionalString(JsonElement node, string name) =>
        Property(node, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static bool OptionalBool(JsonElement node, string name, bool fallback) =>
        Property(node, name).ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => fallback,
        };

    public static string RequiredString(JsonElement node, string name, string file, string key) =>
        OptionalString(node, name) ?? throw new InvalidDataException($"{file}: {key}.{name} is missing or not a string");

    public static IEnumerable<JsonElement> Array(JsonElement node, string name, string file, string key)
    {
        var v = Property(node, name);
        if (v.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{file}: {key}.{name} is missing or not an array");
        return v.EnumerateArray();
    }

    /// <summary>A pattern object {"String": "..."}; regex patterns are rejected.</summary>
    public static string LiteralPattern(JsonElement node, string file, string key)
    {
        var pattern = Property(node, "pattern");
        if (OptionalString(pattern, "String") is { } s) return s;
        throw new NotSupportedException($"{file}: {key}.pattern '{pattern.GetRawText()}' is not supported (only {{\"String\": ...}})");
    }
}
