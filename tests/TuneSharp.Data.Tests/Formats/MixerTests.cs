using Xunit;

namespace TuneSharp.Data.Tests;

public sealed class MixerTests
{
    static string Lines(int from, int to, string prefix = "t") =>
        string.Concat(Enumerable.Range(from, to - from).Select(i => $"{{\"text\":\"{prefix}{i}\"}}\n"));

    static List<string> Texts(IEnumerable<Example> examples) => [.. examples.Cast<TextExample>().Select(e => e.Text)];

    [Fact]
    public void Mix_IsDeterministicBySeed_AndSeedChangesOrder()
    {
        using var tmp = new TempDir();
        var specs = new[] { new DatasetSpec(tmp.Write("a.jsonl", Lines(0, 50))) };
        var a = DatasetMixer.Mix(specs, new MixOptions { Seed = 1 });
        var b = DatasetMixer.Mix(specs, new MixOptions { Seed = 1 });
        var c = DatasetMixer.Mix(specs, new MixOptions { Seed = 2 });
        Assert.Equal(Texts(a.Train), Texts(b.Train));
        Assert.NotEqual(Texts(a.Train), Texts(c.Train));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"t{i}").Order(), Texts(a.Train).Order());
    }

    [Fact]
    public void Mix_RemovesExactDuplicates_AcrossFiles()
    {
        using var tmp = new TempDir();
        var specs = new[] { new DatasetSpec(tmp.Write("a.jsonl", Lines(0, 10))), new DatasetSpec(tmp.Write("b.jsonl", Lines(5, 15))) };
        var mix = DatasetMixer.Mix(specs, new MixOptions());
        Assert.Equal(5, mix.DuplicatesRemoved);
        Assert.Equal(15, mix.Train.Count);
        Assert.Equal(15, Texts(mix.Train).Distinct().Count());
    }

    [Fact]
    public void Mix_WeightsAndMaxSamples()
    {
        using var tmp = new TempDir();
        var specs = new[]
        {
            new DatasetSpec(tmp.Write("a.jsonl", Lines(0, 20, "a"))) { Weight = 2 },
            new DatasetSpec(tmp.Write("b.jsonl", Lines(0, 20, "b"))) { Weight = 0.5 },
            new DatasetSpec(tmp.Write("c.jsonl", Lines(0, 20, "c"))) { MaxSamples = 3 },
        };
        var train = Texts(DatasetMixer.Mix(specs, new MixOptions()).Train);
        Assert.Equal(40, train.Count(t => t[0] == 'a'));
        Assert.Equal(20, train.Where(t => t[0] == 'a').Distinct().Count());
        Assert.Equal(10, train.Count(t => t[0] == 'b'));
        Assert.Equal(["c0", "c1", "c2"], train.Where(t => t[0] == 'c').Order());
    }

    [Fact]
    public void Mix_ValidationSplit_IsDisjointFromTrain()
    {
        using var tmp = new TempDir();
        var specs = new[] { new DatasetSpec(tmp.Write("a.jsonl", Lines(0, 100))) { Weight = 3 } };
        var mix = DatasetMixer.Mix(specs, new MixOptions { ValSize = 0.1, Seed = 7 });
        Assert.Equal(10, mix.Validation.Count);
        Assert.Equal(270, mix.Train.Count);
        Assert.Empty(Texts(mix.Validation).Intersect(Texts(mix.Train)));
        var separate = DatasetMixer.Mix(specs, new MixOptions { ValidationSpecs = [new DatasetSpec(tmp.Write("v.jsonl", Lines(0, 4, "v")))] });
        Assert.Equal(["v0", "v1", "v2", "v3"], Texts(separate.Validation));
        Assert.Equal(300, separate.Train.Count);
    }

    [Fact]
    public void ContentHash_IgnoresSourceLocation()
    {
        var m = new List<ChatMessage> { new("user", "q"), new("assistant", "a") };
        Assert.Equal(DatasetMixer.ContentHash(new ChatExample(new("x", 1), m)), DatasetMixer.ContentHash(new ChatExample(new("y", 9), m)));
        Assert.NotEqual(DatasetMixer.ContentHash(new ChatExample(new("x", 1), m)),
            DatasetMixer.ContentHash(new ChatExample(new("x", 1), [m[0], new("assistant", "b")])));
    }
}
