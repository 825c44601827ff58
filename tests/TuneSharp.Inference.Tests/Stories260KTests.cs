using TuneSharp.Inference;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Inference.Tests;

/// <summary>
/// End-to-end golden test on a real pretrained checkpoint: greedy output of stories260K from a BOS-only prompt must equal,
/// character for character, what llama2.c's run.c prints (temperature 0, steps=256: the forward at each position 0..255 yields one token, so 256 tokens; stopping
/// only if BOS is sampled again).
/// </summary>
public class Stories260KTests
{
    [Fact]
    public void GreedyFromBos_ReproducesLlama2cReferenceExactly()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        string expected = File.ReadAllText(Fixtures.Get("models/stories260K/expected_greedy_t0.txt"));
        using var bundle = ModelBundle.Load(dir);
        int bos = bundle.Tokenizer.BosTokenId!.Value;
        var ids = bundle.Tokenizer.Encode("", addSpecialTokens: true);
        Assert.Equal([bos], ids);

        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 256, StopTokenIds = [bos] };
        var generated = new Generator(bundle.Model).Generate([ids], options).Select(step => step[0]!.Value).ToList();
        string text = bundle.Tokenizer.Decode(generated);
        Assert.Equal(expected.TrimEnd('\n'), text.TrimEnd('\n'));
    }

    [Fact]
    public void TextGenerator_StreamsTheSameText_AndStopsAtAStopString()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        string expected = File.ReadAllText(Fixtures.Get("models/stories260K/expected_greedy_t0.txt"));
        using var bundle = ModelBundle.Load(dir);
        var ids = bundle.Tokenizer.Encode("", addSpecialTokens: true);
        var generator = new TextGenerator(bundle.Model, bundle.Tokenizer);

        var pieces = generator.Stream(ids, new SamplingOptions { Temperature = 0, MaxNewTokens = 256, StopTokenIds = [1] }).ToList();
        Assert.True(pieces.Count > 50, "text must arrive in many pieces, not at the end");
        Assert.Equal(expected.TrimEnd('\n'), string.Concat(pieces).TrimEnd('\n'));

        string stopped = string.Concat(generator.Stream(ids, new SamplingOptions
        {
            Temperature = 0, MaxNewTokens = 256, StopTokenIds = [1], StopStrings = ["red ball"],
        }));
        Assert.Equal(expected[..expected.IndexOf("red ball", StringComparison.Ordinal)], stopped);
        Assert.Equal("stop", generator.FinishReason);
    }

    [Fact]
    public void BatchedGeneration_WithLeftPadding_EqualsOneByOne()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        using var bundle = ModelBundle.Load(dir);
        var prompts = new[] { "Once upon a time", "Tom had a big dog named", "The sun" }
            .Select(p => bundle.Tokenizer.Encode(p, addSpecialTokens: true)).ToArray();
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 24 };
        var generator = new Generator(bundle.Model);
        var batched = Collect(generator.Generate(prompts, options), prompts.Length);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(Collect(generator.Generate([prompts[i]], options), 1)[0], batched[i]);
    }

    [Fact]
    public void Sampling_WithASeed_IsReproducible_AndDiffersAcrossSeeds()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        using var bundle = ModelBundle.Load(dir);
        var ids = bundle.Tokenizer.Encode("Once upon a time", addSpecialTokens: true);
        var generator = new Generator(bundle.Model);
        List<int> Run(long seed) => Collect(generator.Generate([ids], new SamplingOptions
        {
            Temperature = 1.0, TopP = 0.95, TopK = 40, MaxNewTokens = 40, Seed = seed,
        }), 1)[0];
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void Generation_Repeated_LeavesNoLiveTensors()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        using var bundle = ModelBundle.Load(dir);
        var ids = bundle.Tokenizer.Encode("Once", addSpecialTokens: true);
        var generator = new Generator(bundle.Model);
        long growth = LiveTensors.GrowthOver(3, () =>
            generator.Generate([ids, ids], new SamplingOptions { Temperature = 0, MaxNewTokens = 30 }).ToList());
        Assert.Equal(0, growth);
    }

    [Fact]
    public void Streaming_1000SampledTokens_LiveTensorCountDoesNotGrowPerToken()
    {
        // 4 streams x 250 tokens (stories260K's context is 512), sampled with every filter on, stop tokens off so each
        // stream runs to its length. The live-tensor count is read after token 10 and after token 250 of every stream:
        // any per-token leak (a logits row, a sampler temporary, a cache view) makes the later count larger.
        string dir = Fixtures.Get("models/stories260K-hf");
        using var bundle = ModelBundle.Load(dir);
        var ids = bundle.Tokenizer.Encode("Once upon a time", addSpecialTokens: true);
        var text = new TextGenerator(bundle.Model, bundle.Tokenizer);
        var options = new SamplingOptions
        {
            Temperature = 0.9, TopK = 40, TopP = 0.95, MinP = 0.02, RepetitionPenalty = 1.1, MaxNewTokens = 250, StopTokenIds = [],
        };
        long before = LiveTensors.Count, generated = 0;
        for (int stream = 0; stream < 4; stream++)
        {
            long atTen = -1;
            int pieces = 0;
            foreach (var _ in text.Stream(ids, options with { Seed = stream }))
                if (++pieces == 10) atTen = LiveTensors.Count;
            long atEnd = LiveTensors.Count;
            generated += text.LastStats.GeneratedTokens;
            Assert.True(atTen >= 0, $"stream {stream} produced only {pieces} text pieces");
            Assert.True(atEnd <= atTen, $"stream {stream}: {atTen} live tensors after 10 pieces, {atEnd} at the end");
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(1000, generated);
        Assert.Equal(before, LiveTensors.Count);
    }

    static List<int>[] Collect(IEnumerable<int?[]> steps, int rows)
    {
        var result = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        foreach (var step in steps)
            for (int r = 0; r < rows; r++)
                if (step[r] is { } t) result[r].Add(t);
        return result;
    }
}
