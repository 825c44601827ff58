using System.Text;
using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>
/// A tokenizer.json "decoder": turns token strings back into text pieces. <paramref name="continuation"/> is true when
/// the tokens continue text already decoded (streaming), so start-of-text rules (Strip after Fuse) must not fire again.
/// </summary>
interface IDecoder
{
    List<string> Decode(List<string> tokens, bool continuation);

    /// <summary>True when text decoded from these tokens may still change once more tokens follow (an open byte run).</summary>
    bool EndsOpen(List<string> tokens) => false;
}

sealed class SequenceDecoder(IReadOnlyList<IDecoder> steps) : IDecoder
{
    public List<string> Decode(List<string> tokens, bool continuation)
    {
        bool fused = false;
        foreach (var step in steps)
        {
            // Once fused, the first token is the start of the whole text: only then is it a continuation.
            tokens = step.Decode(tokens, continuation && fused);
            fused |= step is FuseDecoder or ByteLevelDecoder;
        }
        return tokens;
    }

    public bool EndsOpen(List<string> tokens) => steps.Any(s => s.EndsOpen(tokens));
}

/// <summary>Maps byte-level chars back to bytes and decodes UTF-8 (invalid sequences become U+FFFD).</summary>
sealed class ByteLevelDecoder : IDecoder
{
    public List<string> Decode(List<string> tokens, bool continuation)
    {
        var bytes = new List<byte>();
        foreach (string t in tokens) ByteLevel.AppendBytes(t, bytes);
        return [Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

sealed record ReplaceDecoder(string Pattern, string Content) : IDecoder
{
    public List<string> Decode(List<string> tokens, bool continuation) =>
        tokens.Select(t => t.Replace(Pattern, Content, StringComparison.Ordinal)).ToList();
}

/// <summary>Runs of &lt;0xNN&gt; tokens become their UTF-8 text; an invalid run becomes one U+FFFD per byte (as HF does).</summary>
sealed class ByteFallbackDecoder : IDecoder
{
    static readonly UTF8Encoding Strict = new(false, true);

    public static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }

    public List<string> Decode(List<string> tokens, bool continuation)
    {
        var output = new List<string>(tokens.Count);
        var run = new List<byte>();
        void FlushRun()
        {
            if (run.Count == 0) return;
            try { output.Add(Strict.GetString(run.ToArray())); }
            catch (DecoderFallbackException) { output.Add(new string('\uFFFD', run.Count)); }
            run.Clear();
        }
        foreach (string t in tokens)
        {
            if (TryParseByte(t, out byte b)) { run.Add(b); continue; }
            FlushRun();
            output.Add(t);
        }
        FlushRun();
        return output;
    }

    public bool EndsOpen(List<string> tokens) => tokens.Count > 0 && TryParseByte(tokens[^1], out _);
}

sealed class FuseDecoder : IDecoder
{
    public List<string> Decode(List<string> tokens, bool continuation) => [string.Concat(tokens)];
}

/// <summary>Removes up to Start leading and Stop trailing occurrences of Content from each token.</summary>
sealed record StripDecoder(char Content, int Start, int Stop) : IDecoder
{
    public List<string> Decode(List<string> tokens, bool continuation) =>
        tokens.Select((t, i) =>
        {
            int from = 0, to = t.Length;
            if (!(continuation && i == 0))
                while (from < Start && from < t.Length && t[from] == Content) from++;
            for (int k = 0; k < Stop && to > from && t[to - 1] == Content; k++) to--;
            return t[from..to];
        }).ToList();
}

static class DecoderFactory
{
    public static IDecoder? Create(JsonElement node, string file, string key)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        string type = Json.RequiredString(node, "type", file, key);
        switch (type)
        {
            case "Sequence":
                return new SequenceDecoder(Json.Array(node, "decoders", file, key)
                    .Select((n, i) => Create(n, file, $"{key}.decoders[{i}]")!).ToArray());
            case "ByteLevel": return new ByteLevelDecoder();
            case "Replace": return new ReplaceDecoder(Json.LiteralPattern(node, file, key), Json.RequiredString(node, "content", file, key));
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Strip":
                string content = Json.RequiredString(node, "content", file, key);
                if (content.Length != 1) throw new NotSupportedException($"{file}: {key}.content '{content}' is not supported (one char only)");
                return new StripDecoder(content[0], Json.Property(node, "start").GetInt32(), Json.Property(node, "stop").GetInt32());
            default:
                throw new NotSupportedException($"{file}: {key}.type '{type}' is not supported (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip)");
        }
    }
}
