using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Tokenizers.Tests;

public sealed class TokenizerBehaviourTests
{
    [Fact]
    public void Llama2_AddsBosOnly_FromTokenizerConfig()
    {
        var tok = TokenizerCache.Get("llama2");
        Assert.Equal((1, 2, 0), (tok.BosTokenId, tok.EosTokenId, tok.UnkTokenId));
        Assert.Equal(("<s>", "</s>"), (tok.BosToken, tok.EosToken));
        Assert.True(tok.AddBosToken);
        Assert.False(tok.AddEosToken);
        Assert.Null(tok.PadTokenId);
        var ids = tok.Encode("Hello");
        Assert.Equal(1, ids[0]);
        Assert.NotEqual(2, ids[^1]);
        Assert.Equal(ids[1..], tok.Encode("Hello", addSpecialTokens: false));
        Assert.Equal(32000, tok.VocabSize);
    }

    [Fact]
    public void Llama3_FollowsItsPostProcessor_WhichAddsNoBos()
    {
        // This tokenizer.json's post_processor is plain ByteLevel (the early Llama-3 release), so transformers adds no
        // <|begin_of_text|>; the chat template writes it.
        var tok = TokenizerCache.Get("llama3");
        Assert.Equal(128000, tok.BosTokenId);
        Assert.Equal(128001, tok.EosTokenId);
        Assert.False(tok.AddBosToken);
        Assert.False(tok.AddEosToken);
        Assert.Equal(tok.Encode("Hello", addSpecialTokens: false), tok.Encode("Hello"));
        Assert.Equal(128256, tok.VocabSize);
        Assert.Contains("<|start_header_id|>", tok.ChatTemplate);
        Assert.Equal(tok.ChatTemplate, tok.NamedChatTemplates["default"]);
        Assert.Contains(128009, tok.SpecialTokenIds);
    }

    [Fact]
    public void Qwen3_HasNoBos_AndPadIsEndOfText()
    {
        var tok = TokenizerCache.Get("qwen3");
        Assert.Null(tok.BosToken);
        Assert.Null(tok.BosTokenId);
        Assert.False(tok.AddBosToken);
        Assert.Equal(("<|im_end|>", 151645), (tok.EosToken, tok.EosTokenId));
        Assert.Equal(("<|endoftext|>", 151643), (tok.PadToken, tok.PadTokenId));
        Assert.Equal(151669, tok.VocabSize);
        Assert.Contains("<|im_start|>", tok.ChatTemplate);
        // <think> is an added token but not special: matched in text, kept by skipSpecialTokens.
        Assert.Equal(151667, tok.TokenToId("<think>"));
        Assert.DoesNotContain(151667, tok.SpecialTokenIds);
        Assert.Equal("<think>x", tok.Decode(tok.Encode("<|im_start|><think>x"), skipSpecialTokens: true));
    }

    [Fact]
    public void Gpt2_LoadsFromVocabAndMerges_AddsNothing()
    {
        var tok = TokenizerCache.Get("gpt2");
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(50256, tok.EosTokenId);
        Assert.Equal(50256, tok.BosTokenId);
        Assert.False(tok.AddBosToken);
        Assert.Null(tok.ChatTemplate);
        Assert.Empty(tok.NamedChatTemplates);
        Assert.Equal("Ġworld", tok.IdToToken(tok.Encode(" world").Single()));
    }

    [Fact]
    public void Stories260K_EncodesOnceUponATime_WithBos()
    {
        var tok = TokenizerCache.Get("stories260K");
        Assert.Equal(512, tok.VocabSize);
        var ids = tok.Encode("Once upon a time");
        Assert.Equal(1, ids[0]);
        // The same ids as the tokenizers.js reference in stories260K.expected.json.
        Assert.Equal(["<s>", "▁Once", "▁upon", "▁a", "▁time"], ids.Select(i => tok.IdToToken(i)));
    }

    [Fact]
    public void Stories260K_RoundTripsTheGreedyReferenceText()
    {
        var tok = TokenizerCache.Get("stories260K");
        string text = File.ReadAllText(Fixtures.Get("models/stories260K/expected_greedy_t0.txt"));
        var ids = tok.Encode(text);
        Assert.Equal(tok.BosTokenId, ids[0]);
        Assert.Equal(text, tok.Decode(ids[1..]));
        Assert.Equal(text, tok.Decode(ids, skipSpecialTokens: true));
        // The model's 512-token vocabulary covers the story without byte fallback except for rare characters.
        Assert.True(ids.Length < text.Length, $"{ids.Length} ids for {text.Length} chars");
    }

    [Theory]
    [InlineData("llama2"), InlineData("llama3"), InlineData("qwen3"), InlineData("gpt2"), InlineData("stories260K")]
    public void Encode_ThenDecode_RoundTripsUnicode(string name)
    {
        var tok = TokenizerCache.Get(name);
        const string text = "Grüße 👨‍👩‍👧 日本語 𝐀𝟏 and code: x => x * 2;\n\tdone.";
        Assert.Equal(text, tok.Decode(tok.Encode(text), skipSpecialTokens: true));
    }

    [Fact]
    public void StreamingDecoder_HoldsBackIncompleteUtf8()
    {
        var tok = TokenizerCache.Get("llama2");
        var ids = tok.Encode("a 😀", addSpecialTokens: false);   // the emoji falls back to 4 <0xNN> tokens
        Assert.Equal(4, ids.Count(i => tok.IdToToken(i)!.StartsWith("<0x", StringComparison.Ordinal)));
        var stream = tok.CreateStreamingDecoder();
        var pieces = ids.Select(stream.Push).ToList();
        Assert.Equal("a", pieces[0]);
        Assert.All(pieces.Skip(1), p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal("a 😀", string.Concat(pieces) + stream.Flush());

        var gpt2 = TokenizerCache.Get("gpt2");
        var g = gpt2.CreateStreamingDecoder();
        var gIds = gpt2.Encode("😀");
        Assert.True(gIds.Length > 1);
        Assert.Equal("", g.Push(gIds[0]));
        Assert.Equal("😀", string.Concat(gIds.Skip(1).Select(g.Push)) + g.Flush());
    }

    [Fact]
    public void StreamingDecoder_AppliesCleanUpAcrossTokens_AsDecodeDoes()
    {
        // llama3 decodes with clean_up_tokenization_spaces=true: " ." -> "." even when the space ended an earlier token.
        var tok = TokenizerCache.Get("llama3");
        foreach (string text in new[] { "Hello , world . I 'm here ", "x n't y 's z ' q", "a ! b ? c", "end ." })
        {
            var ids = tok.Encode(text);
            var stream = tok.CreateStreamingDecoder();
            string streamed = string.Concat(ids.Select(stream.Push)) + stream.Flush();
            Assert.Equal(tok.Decode(ids), streamed);
            Assert.NotEqual(text, streamed);  // clean-up changed something
        }
    }
}
