using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>A tokenizer.json "normalizer": rewrites a text segment before pre-tokenization.</summary>
interface INormalizer
{
    string Normalize(string text);
}

sealed record SequenceNormalizer(IReadOnlyList<INormalizer> Steps) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var step in Steps) text = step.Normalize(text);
        return text;
    }
}

/// <summary>Prepends a string to every non-empty segment (SentencePiece's "▁" dummy prefix).</summary>
sealed record PrependNormalizer(string Prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : Prefix + text;
}

/// <summary>Literal string replacement (tokenizer.json pattern {"String": ...}).</summary>
sealed record ReplaceNormalizer(string Pattern, string Content) : INormalizer
{
    public string Normalize(string text) => text.Replace(Pattern, Content, StringComparison.Ordinal);
}

sealed record NfcNormalizer : INormalizer
{
    public string Normalize(string text) => UnicodeNormalization.Nfc(text);
}

sealed record NfdNormalizer : INormalizer
{
    public string Normalize(string text) => UnicodeNormalization.Nfd(text);
}

static class NormalizerFactory
{
    /// <summary>Builds the normalizer of a tokenizer.json node; null when the node is absent or JSON null.</summary>
    public static INormalizer? Create(JsonElement node, string file, string key)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        string type = Json.RequiredString(node, "type", file, key);
        return type switch
        {
            "Sequence" => new SequenceNormalizer(Json.Array(node, "normalizers", file, key)
                .Select((n, i) => Create(n, file, $"{key}.normalizers[{i}]")!).ToArray()),
            "Prepend" => new PrependNormalizer(Json.RequiredString(node, "prepend", file, key)),
            "Replace" => new ReplaceNormalizer(Json.LiteralPattern(node, file, key), Json.RequiredString(node, "content", file, key)),
            "NFC" => new NfcNormalizer(),
            "NFD" => new NfdNormalizer(),
            _ => throw new NotSupportedException($"{file}: {key}.type '{type}' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD)"),
        };
    }
}
