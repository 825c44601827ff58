using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>
/// The special tokens that encoding a single sequence adds around it (TemplateProcessing "single"; ByteLevel adds none).
/// </summary>
sealed record SpecialTokenTemplate(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static readonly SpecialTokenTemplate None = new([], []);

    public static SpecialTokenTemplate FromJson(JsonElement node, string file, string key)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return None;
        string type = Json.RequiredString(node, "type", file, key);
        switch (type)
        {
            case "ByteLevel":
                return None;  // only adjusts offsets
            case "Sequence":
                var parts = Json.Array(node, "processors", file, key).Select((p, i) => FromJson(p, file, $"{key}.processors[{i}]")).ToList();
                return new SpecialTokenTemplate(parts.SelectMany(p => p.Prefix).ToArray(), parts.SelectMany(p => p.Suffix).ToArray());
            case "TemplateProcessing":
                var specials = Json.Property(node, "special_tokens");
                var prefix = new List<int>();
                var suffix = new List<int>();
                bool seenSequence = false;
                foreach (var item in Json.Array(node, "single", file, key))
                {
                    if (Json.Property(item, "Sequence").ValueKind == JsonValueKind.Object) { seenSequence = true; continue; }
                    string id = Json.RequiredString(Json.Property(item, "SpecialToken"), "id", file, $"{key}.single");
                    var entry = Json.Property(specials, id);
                    if (entry.ValueKind != JsonValueKind.Object)
                        throw new InvalidDataException($"{file}: {key}.special_tokens has no entry '{id}'");
                    (seenSequence ? suffix : prefix).AddRange(Json.Array(entry, "ids", file, $"{key}.special_tokens.{id}").Select(e => e.GetInt32()));
                }
                return new SpecialTokenTemplate(prefix, suffix);
            default:
                throw new NotSupportedException($"{file}: {key}.type '{type}' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
        }
    }
}
