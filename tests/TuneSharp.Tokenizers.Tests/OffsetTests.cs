using Xunit;

namespace TuneSharp.Tokenizers.Tests;

/// <summary>EncodeWithOffsets: same ids as Encode, and each token's range is the text it was made from.</summary>
public sealed class OffsetTests
{
    static readonly string[] Texts =
    [
        "Hello world! How are you?",
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\nIt is 4.<|im_end|>\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
        "<s>[INST] Bonjour, ça va ? [/INST] Très bien.</s>",
        "数学题：3 + 5 = 8。 Emoji 🙂🎉 and tabs\t\tend  ",
        "Cafe\u0301 and e\u0301te\u0301 (NFD input)",
        "   leading spaces and trailing   \n\n\n",
        "<think>\nreasoning\n</think>\n\nanswer",
    ];

    public static TheoryData<string> Names() => ["qwen3", "llama3", "llama2", "gpt2", "stories260K"];

    [Theory]
    [MemberData(nameof(Names))]
    public void EncodeWithOffsets_GivesTheSameIds_AsEncode(string name)
    {
        var tok = TokenizerCache.Get(name);
        foreach (string text in Texts)
            foreach (bool special in new[] { false, true })
                Assert.Equal(tok.Encode(text, special), tok.EncodeWithOffsets(text, special).Ids);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Offsets_AreOrdered_AndCoverTheirText(string name)
    {
        var tok = TokenizerCache.Get(name);
        foreach (string text in Texts)
        {
            var enc = tok.EncodeWithOffsets(text, addSpecialTokens: false);
            int lastEnd = 0;
            for (int i = 0; i < enc.Ids.Length; i++)
            {
                Assert.InRange(enc.Starts[i], 0, text.Length);
                Assert.InRange(enc.Ends[i], enc.Starts[i], text.Length);
                Assert.True(enc.Starts[i] >= (i == 0 ? 0 : enc.Starts[i - 1]), $"{name}: token {i} starts before token {i - 1} in '{text}'");
                lastEnd = Math.Max(lastEnd, enc.Ends[i]);
            }
            Assert.Equal(text.Length, lastEnd);
        }
    }

    /// <summary>
    /// Byte-level tokenizers: a token that holds only whole characters decodes to exactly the text its range points at;
    /// a token holding part of a character points at that character.
    /// </summary>
    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("gpt2")]
    public void ByteLevel_TokenRange_IsTheTokenText(string name)
    {
        var tok = TokenizerCache.Get(name);
        foreach (string text in Texts)
        {
            var enc = tok.EncodeWithOffsets(text, addSpecialTokens: false);
            for (int i = 0; i < enc.Ids.Length; i++)
            {
                string decoded = tok.Decode([enc.Ids[i]]);
                string slice = text[enc.Starts[i]..enc.Ends[i]];
                if (decoded.Contains('\uFFFD'))
                {
                    // Part of a character: the range is the whole characters the token's bytes belong to.
                    string whole = decoded.Replace("\uFFFD", "");
                    Assert.True(slice.StartsWith(whole, StringComparison.Ordinal) && slice.EnumerateRunes().Count() <= whole.Length + 2, $"partial token '{decoded}' -> '{slice}'");
                }
                else if (!text.Contains('\u0301')) Assert.Equal(Clean(tok, slice), decoded);
            }
        }
    }

    /// <summary>Decode applies clean_up_tokenization_spaces where the tokenizer asks for it (llama3): compare likewise.</summary>
    static string Clean(HfTokenizer tok, string text) => tok.Decode(tok.Encode(" ?", addSpecialTokens: false)) == " ?" ? text
        : text.Replace(" ?", "?").Replace(" !", "!").Replace(" .", ".").Replace(" ,", ",");

    /// <summary>SentencePiece-style tokenizers: the "▁" of the token stands for the space (or the prepended dummy prefix).</summary>
    [Fact]
    public void Llama2_TokenRange_IsTheTokenText_WithSpaces()
    {
        var tok = TokenizerCache.Get("llama2");
        string text = "Hello world, this is [INST] a test</s> of offsets.";
        var enc = tok.EncodeWithOffsets(text, addSpecialTokens: true);
        Assert.Equal((0, 0), (enc.Starts[0], enc.Ends[0]));  // BOS from the post-processor
        for (int i = 1; i < enc.Ids.Length; i++)
        {
            string token = tok.IdToToken(enc.Ids[i])!.Replace('▁', ' ');
            string slice = text[enc.Starts[i]..enc.Ends[i]];
            // The first token's dummy-prefix "▁" is aligned with the first char, not with a space of the text.
            Assert.Equal(i == 1 ? token.TrimStart(' ') : token, slice);
        }
    }

    /// <summary>Qwen3 normalizes to NFC: the composed "é" token points at the two chars "e" + U+0301 it came from.</summary>
    [Fact]
    public void Qwen3_NfcComposition_MapsBackToTheDecomposedChars()
    {
        var tok = TokenizerCache.Get("qwen3");
        string text = "Cafe\u0301!";
        var enc = tok.EncodeWithOffsets(text, addSpecialTokens: false);
        string joined = string.Concat(enc.Ids.Select(id => tok.Decode([id])));
        Assert.Equal("Caf\u00E9!", joined);  // composed (string.Normalize is a no-op under invariant globalization)
        int bang = Array.FindIndex(enc.Ids, id => tok.Decode([id]) == "!");
        Assert.Equal((5, 6), (enc.Starts[bang], enc.Ends[bang]));
        Assert.Equal(5, enc.Ends[bang - 1]);  // the token before "!" ends after the combining accent
    }
}
