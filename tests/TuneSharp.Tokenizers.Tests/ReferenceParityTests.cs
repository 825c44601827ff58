using System.Text.Json;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Tokenizers.Tests;

/// <summary>
/// Our Encode/Decode against ids and strings produced offline by tokenizers.js (tools/tokenizers/make_expected.mjs)
/// on tests/fixtures/tokenizers/corpus.json. Exact equality, no tolerance.
/// </summary>
public sealed class ReferenceParityTests
{
    public static readonly TheoryData<string> Names = ["llama2", "llama3", "qwen3", "gpt2", "stories260K"];

    sealed record Case(string Text, int[] Ids, int[] IdsNoSpecial, string Decoded, string DecodedSkipSpecial);

    static IReadOnlyList<Case> Expected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Repo($"tokenizers/{name}.expected.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("text").GetString()!,
            c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            c.GetProperty("ids_no_special").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            c.GetProperty("decoded").GetString()!,
            c.GetProperty("decoded_skip_special").GetString()!)).ToList();
    }

    internal static HfTokenizer Load(string name) => TokenizerCache.Get(name);

    [Theory, MemberData(nameof(Names))]
    public void Encode_MatchesReference_ForWholeCorpus(string name)
    {
        var tok = Load(name);
        var failures = new List<string>();
        foreach (var c in Expected(name))
        {
            var ids = tok.Encode(c.Text);
            var idsNoSpecial = tok.Encode(c.Text, addSpecialTokens: false);
            if (!ids.SequenceEqual(c.Ids)) failures.Add($"{JsonSerializer.Serialize(c.Text)}: got [{string.Join(",", ids)}], want [{string.Join(",", c.Ids)}]");
            if (!idsNoSpecial.SequenceEqual(c.IdsNoSpecial)) failures.Add($"{JsonSerializer.Serialize(c.Text)} (no special): got [{string.Join(",", idsNoSpecial)}], want [{string.Join(",", c.IdsNoSpecial)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures.Take(10)));
        Assert.Equal(61, Expected(name).Count);
    }

    [Theory, MemberData(nameof(Names))]
    public void Decode_MatchesReference_ForWholeCorpus(string name)
    {
        var tok = Load(name);
        var failures = new List<string>();
        foreach (var c in Expected(name))
        {
            string decoded = tok.Decode(c.Ids), skipped = tok.Decode(c.Ids, skipSpecialTokens: true);
            if (decoded != c.Decoded) failures.Add($"{JsonSerializer.Serialize(c.Text)}: got {JsonSerializer.Serialize(decoded)}, want {JsonSerializer.Serialize(c.Decoded)}");
            if (skipped != c.DecodedSkipSpecial) failures.Add($"{JsonSerializer.Serialize(c.Text)} (skip special): got {JsonSerializer.Serialize(skipped)}, want {JsonSerializer.Serialize(c.DecodedSkipSpecial)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches:\n" + string.Join("\n", failures.Take(10)));
    }

    [Theory, MemberData(nameof(Names))]
    public void StreamingDecoder_ConcatenationEqualsDecode(string name)
    {
        var tok = Load(name);
        foreach (bool skip in new[] { false, true })
            foreach (var c in Expected(name))
            {
                var stream = tok.CreateStreamingDecoder(skip);
                string streamed = string.Concat(c.Ids.Select(stream.Push)) + stream.Flush();
                Assert.Equal(tok.Decode(c.Ids, skip), streamed);
            }
    }
}

/// <summary>Loads each real tokenizer once per test run.</summary>
static class TokenizerCache
{
    static readonly Dictionary<string, Lazy<HfTokenizer>> Cache = new()
    {
        ["llama2"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/llama2"))),
        ["llama3"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/llama3"))),
        ["qwen3"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/qwen3"))),
        ["gpt2"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/gpt2"))),
        ["stories260K"] = new(() => HfTokenizer.Load(Fixtures.Get("models/stories260K-hf"))),
    };

    public static HfTokenizer Get(string name)
    {
        Fixtures.Get("tokenizers");  // skips (or fails in CI) when the shared fixtures are absent
        return Cache[name].Value;
    }
}
