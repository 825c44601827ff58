using TuneSharp.Export.Gguf;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Export.Tests.Gguf;

public sealed class GgufTokenizerTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-gguf-tok-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("llama3", "llama-bpe")]
    [InlineData("qwen3", "qwen2")]
    public void ByteLevelTokenizer_WritesGpt2Model_PreName_MergesAndTypes(string name, string pre)
    {
        var tok = HfTokenizer.Load(Fixtures.Get($"tokenizers/{name}"));
        var warnings = new List<string>();
        var w = new GgufWriter();
        GgufTokenizer.Add(w, tok, tok.VocabSize + 7, warnings); // a model vocab larger than the tokenizer, as Qwen pads it
        string path = Path.Combine(dir, $"{name}.gguf");
        w.Write(path);
        var m = new GgufReader(path).Metadata;

        Assert.Empty(warnings);
        Assert.Equal("gpt2", m["tokenizer.ggml.model"]);
        Assert.Equal(pre, m["tokenizer.ggml.pre"]);
        Assert.DoesNotContain("tokenizer.ggml.scores", m.Keys);
        var tokens = (string[])m["tokenizer.ggml.tokens"];
        var types = (int[])m["tokenizer.ggml.token_type"];
        Assert.Equal(tok.VocabSize + 7, tokens.Length);
        var added = tok.Vocabulary.AddedTokens.Select(t => t.Id).ToHashSet();
        for (int id = 0; id < tok.VocabSize; id++)
        {
            Assert.Equal(tok.IdToToken(id), tokens[id]);
            // special added tokens are control, other added tokens (qwen3's <tool_call>, <think>) user-defined
            int expected = tok.SpecialTokenIds.Contains(id) ? 3 : added.Contains(id) ? 4 : 1;
            Assert.True(expected == types[id], $"{name} token {id} '{tokens[id]}': type {types[id]}");
        }
        Assert.Equal($"[PAD{tok.VocabSize}]", tokens[tok.VocabSize]);
        Assert.Equal(5, types[^1]); // unused
        var merges = (string[])m["tokenizer.ggml.merges"];
        Assert.Equal(tok.Vocabulary.Merges.Count, merges.Length);
        Assert.Equal($"{tok.Vocabulary.Merges[0].A} {tok.Vocabulary.Merges[0].B}", merges[0]);
        Assert.Equal(tok.ChatTemplate, m["tokenizer.chat_template"]);
        Assert.Equal((uint)tok.EosTokenId!.Value, m["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(tok.AddBosToken, m["tokenizer.ggml.add_bos_token"]);
    }

    [Fact]
    public void Gpt2Files_GetGpt2PreName()
    {
        var tok = HfTokenizer.Load(Fixtures.Get("tokenizers/gpt2"));
        Assert.Equal("gpt2", GgufTokenizer.ModelName(tok.Vocabulary));
        Assert.Equal("gpt-2", GgufTokenizer.PreTokenizerName(tok.Vocabulary));
    }

    [Fact]
    public void Scores_FollowMergeRank()
    {
        // stories260K's first merge is '▁ t': the token '▁t' scores 0, the second merge's token -1; single characters 0.
        var tok = HfTokenizer.Load(Fixtures.Get("models/stories260K-hf"));
        var v = tok.Vocabulary;
        var scores = GgufTokenizer.Scores(v, tok.VocabSize);
        for (int rank = 0; rank < v.Merges.Count; rank++)
        {
            int id = tok.TokenToId(v.Merges[rank].A + v.Merges[rank].B)!.Value;
            Assert.True(scores[id] >= -rank, $"merge {rank}");
        }
        Assert.Equal(-1f, scores[tok.TokenToId(v.Merges[1].A + v.Merges[1].B)!.Value]);
    }
}
