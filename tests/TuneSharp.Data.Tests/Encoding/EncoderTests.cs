using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using Xunit;
using static TuneSharp.Data.Tests.Encoding.EncodingTestData;

namespace TuneSharp.Data.Tests.Encoding;

/// <summary>Completions, plain text, truncation, pretraining windows and the parallel dataset encoder.</summary>
public sealed class EncoderTests
{
    static ExampleEncoder Encoder(string tokenizer, EncodingSettings settings) =>
        new(Tokenizer(tokenizer), ChatTemplate.BuiltIn("chatml"), settings);

    [Theory]
    [InlineData("llama2")]  // adds BOS
    [InlineData("qwen3")]   // no BOS
    public void Completion_TrainsCompletionAndEos_Only(string name)
    {
        var tok = Tokenizer(name);
        var r = Encoder(name, new EncodingSettings(512)).Encode(new CompletionExample(Src, "Question: 2+2?\nAnswer:", " 4"));
        var s = r.Sample!;
        Assert.Equal(EncodeStatus.Encoded, r.Status);
        Assert.Equal(tok.AddBosToken, s.InputIds[0] == tok.BosTokenId);
        Assert.Equal(tok.EosTokenId, s.InputIds[^1]);
        Assert.Equal(tok.Encode("Question: 2+2?\nAnswer: 4", addSpecialTokens: true), s.InputIds[..^1]);
        var runs = DecodedRuns(tok, s);
        Assert.Single(runs);
        Assert.Equal(" 4" + tok.EosToken, name == "llama2" ? " " + runs[0] : runs[0]);  // SentencePiece decode drops the leading space
        Assert.False(s.Trained[0]);
    }

    [Fact]
    public void Completion_WithoutEos_WhenDisabled()
    {
        var tok = Tokenizer("qwen3");
        var s = Encoder("qwen3", new EncodingSettings(512, AddEosToText: false)).Encode(new CompletionExample(Src, "a:", " b")).Sample!;
        Assert.NotEqual(tok.EosTokenId, s.InputIds[^1]);
        Assert.Equal(" b", tok.Decode(TrainedRuns(s).Single()));
    }

    [Fact]
    public void Truncate_KeepsTheFirstTokens_Drop_SkipsTheExample()
    {
        var tok = Tokenizer("qwen3");
        var full = Encoder("qwen3", new EncodingSettings(4096)).Encode(ThreeTurns).Sample!;
        int max = full.Length - 5;
        var truncated = Encoder("qwen3", new EncodingSettings(max)).Encode(ThreeTurns);
        Assert.Equal(EncodeStatus.Truncated, truncated.Status);
        Assert.Equal(full.Length, truncated.FullLength);
        Assert.Equal(full.InputIds[..max], truncated.Sample!.InputIds);
        Assert.Equal(full.Trained[..max], truncated.Sample.Trained);

        var dropped = Encoder("qwen3", new EncodingSettings(max, Truncation: Truncation.Drop)).Encode(ThreeTurns);
        Assert.Equal(EncodeStatus.Dropped, dropped.Status);
        Assert.Null(dropped.Sample);
        Assert.Contains($"{full.Length} tokens", dropped.Reason);

        // Truncated before the first assistant token: nothing to learn, dropped.
        var empty = Encoder("qwen3", new EncodingSettings(8)).Encode(ThreeTurns);
        Assert.Equal(EncodeStatus.Dropped, empty.Status);
        Assert.Equal(tok.Encode(ChatTemplate.BuiltIn("chatml").Render(
            new System.Text.Json.Nodes.JsonArray(ThreeTurns.Messages.Select(m => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray())),
            false).Length, empty.FullLength);
    }

    [Fact]
    public void Pretraining_ConcatenatesDocumentsWithEos_IntoFullWindows()
    {
        var tok = Tokenizer("llama2");
        var encoder = Encoder("llama2", new EncodingSettings(16));
        string[] docs = ["Once upon a time there was a tiny dragon.", "It liked tea.", "The end of a very long story that goes on and on for a while."];
        var windows = encoder.EncodePretraining(docs.Select((d, i) => new TextExample(new SourceLocation("t.txt", i + 1), d)), maxDegreeOfParallelism: 2).ToList();
        var expected = docs.SelectMany(d => tok.Encode(d).Append(tok.EosTokenId!.Value)).ToArray();
        Assert.Equal(expected, windows.SelectMany(w => w.InputIds).ToArray());
        Assert.All(windows.SkipLast(1), w => Assert.Equal(16, w.Length));
        Assert.All(windows, w => Assert.All(w.Trained, Assert.True));
        Assert.Equal(new SourceLocation("t.txt", 1), windows[0].Source);
        Assert.Equal(3, expected.Count(id => id == tok.BosTokenId));  // BOS per document
    }

    [Fact]
    public void EncodeAll_IsOrdered_AndCounts()
    {
        var tok = Tokenizer("qwen3");
        var encoder = new ExampleEncoder(tok, OwnTemplate("qwen3"), new EncodingSettings(40, Truncation: Truncation.Drop));
        var examples = Enumerable.Range(0, 300).Select(i => (Example)(i % 10 == 9
            ? new CompletionExample(new SourceLocation("d.jsonl", i + 1), string.Concat(Enumerable.Repeat("long ", 100)), "x")
            : Chat(("user", $"What is {i} + 1?"), ("assistant", $"{i + 1}")) with { Source = new SourceLocation("d.jsonl", i + 1) })).ToList();

        var stats = new EncodingStats();
        var parallel = DatasetEncoder.EncodeAll(examples, encoder, stats, maxDegreeOfParallelism: 4, TestContext.Current.CancellationToken).ToList();
        var serial = examples.Select(encoder.Encode).ToList();
        Assert.Equal(serial.Select(r => r.Source), parallel.Select(r => r.Source));
        Assert.Equal(serial.Select(r => r.Sample?.InputIds), parallel.Select(r => r.Sample?.InputIds));
        Assert.Equal(serial.Select(r => r.Sample?.Trained), parallel.Select(r => r.Sample?.Trained));

        Assert.Equal(300, stats.Examples);
        Assert.Equal(30, stats.Dropped);
        Assert.Equal(270, stats.Kept);
        Assert.Equal(serial.Where(r => r.Sample != null).Sum(r => (long)r.Sample!.TrainedCount), stats.TrainedTokens);
        Assert.Equal(serial.Where(r => r.Sample != null).Sum(r => (long)r.Sample!.Length), stats.TrainedTokens + stats.PromptTokens);
        Assert.Equal(270, stats.LengthHistogram.Sum());
        Assert.Equal(270, stats.LengthHistogram[5] + stats.LengthHistogram[6]);  // lengths 17..40
        Assert.Contains("d.jsonl:10", stats.Reasons[0]);
    }
}
