using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TuneSharp.Tokenizers;

/// <summary>A tokenizer.json "pre_tokenizer": splits normalized text into the words that the model encodes.</summary>
interface IPreTokenizer
{
    void PreTokenize(List<string> pieces);
}

sealed record SequencePreTokenizer(IReadOnlyList<IPreTokenizer> Steps) : IPreTokenizer
{
    public void PreTokenize(List<string> pieces)
    {
        foreach (var step in Steps) step.PreTokenize(pieces);
    }
}

/// <summary>Regex split with the "Isolated" behaviour: every match and every gap between matches is a piece.</summary>
sealed class SplitPreTokenizer(CodePointRegex regex) : IPreTokenizer
{
    public string Pattern => regex.Pattern;

    public void PreTokenize(List<string> pieces)
    {
        var output = new List<string>(pieces.Count * 4);
        foreach (string piece in pieces) regex.SplitIsolated(piece, output);
        pieces.Clear();
        pieces.AddRange(output);
    }
}

/// <summary>GPT-2 byte-level pre-tokenizer: optional GPT-2 regex split, then every UTF-8 byte becomes a printable char.</summary>
sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    static readonly CodePointRegex Gpt2Regex = new(Gpt2Pattern);
    public bool UseRegex => useRegex;
    public static string RegexPattern => Gpt2Pattern;

    public void PreTokenize(List<string> pieces)
    {
        var output = new List<string>(pieces.Count);
        foreach (string piece in pieces)
        {
            string p = addPrefixSpace && !piece.StartsWith(' ') ? " " + piece : piece;
            if (useRegex) Gpt2Regex.SplitIsolated(p, output);
            else output.Add(p);
        }
        pieces.Clear();
        foreach (string piece in output) pieces.Add(ByteLevel.Encode(piece));
    }
}

/// <summary>
/// A .NET regex that treats each Unicode code point as one character, as the Oniguruma engine of HF tokenizers does.
/// .NET matches UTF-16 units, so a supplementary-plane letter or digit would not match \p{L} / \p{N}; such code points
/// are matched through a shadow string where each is replaced by one BMP stand-in of the same class.
/// </summary>
sealed class CodePointRegex(string pattern)
{
    readonly Regex regex = new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    public string Pattern => pattern;

    public void SplitIsolated(string text, List<string> output)
    {
        if (text.Length == 0) return;
        int[]? map = null;  // shadow index -> original index (with one extra entry for the end)
        string subject = text;
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0) (subject, map) = Shadow(text);
        int Orig(int i) => map == null ? i : map[i];

        int last = 0;
        for (var m = regex.Match(subject); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            int start = Orig(m.Index), end = Orig(m.Index + m.Length);
            if (start > last) output.Add(text[last..start]);
            output.Add(text[start..end]);
            last = end;
        }
        if (last < text.Length) output.Add(text[last..]);
    }

    static (string, int[]) Shadow(string text)
    {
        var sb = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length;)
        {
            if (Rune.TryGetRuneAt(text, i, out Rune r) && r.Utf16SequenceLength == 2)
            {
                sb.Append(Rune.GetUnicodeCategory(r) switch
                {
                    >= System.Globalization.UnicodeCategory.UppercaseLetter and <= System.Globalization.UnicodeCategory.OtherLetter => '\u4E00',
                    >= System.Globalization.UnicodeCategory.DecimalDigitNumber and <= System.Globalization.UnicodeCategory.OtherNumber => '\u0661',
                    _ => '\u00A9',  // a symbol: neither letter, digit nor space
                });
                map.Add(i);
                i += 2;
            }
            else
            {
                sb.Append(text[i]);
                map.Add(i);
                i++;
            }
        }
        map.Add(text.Length);
        return (sb.ToString(), map.ToArray());
    }
}

static class PreTokenizerFactory
{
    public static IPreTokenizer? Create(JsonElement node, string file, string key)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        string type = Json.RequiredString(node, "type", file, key);
        switch (type)
        {
            case "Sequence":
                return new SequencePreTokenizer(Json.Array(node, "pretokenizers", file, key)
                    .Select((n, i) => Create(n, file, $"{key}.pretokenizers[{i}]")!).ToArray());
            case "ByteLevel":
                return new ByteLevelPreTokenizer(Json.OptionalBool(node, "add_prefix_space", true), Json.OptionalBool(node, "use_regex", true));
            case "Split":
                string behavior = Json.RequiredString(node, "behavior", file, key);
                if (behavior != "Isolated")
                    throw new NotSupportedException($"{file}: {key}.behavior '{behavior}' is not supported (only Isolated)");
                if (Json.OptionalBool(node, "invert", false))
                    throw new NotSupportedException($"{file}: {key}.invert 'true' is not supported");
                var pattern = Json.Property(node, "pattern");
                string regex = Json.OptionalString(pattern, "Regex")
                    ?? Regex.Escape(Json.OptionalString(pattern, "String")
                        ?? throw new InvalidDataException($"{file}: {key}.pattern has neither Regex nor String"));
                return new SplitPreTokenizer(new CodePointRegex(regex));
            default:
                throw new NotSupportedException($"{file}: {key}.type '{type}' is not supported (supported: Sequence, Split, ByteLevel)");
        }
    }
}
