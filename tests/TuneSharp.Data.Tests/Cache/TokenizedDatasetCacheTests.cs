using TuneSharp.Data.Batching;
using TuneSharp.Data.Cache;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using Xunit;
using static TuneSharp.Data.Tests.Encoding.EncodingTestData;

namespace TuneSharp.Data.Tests.Cache;

public sealed class TokenizedDatasetCacheTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-cache-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly string SomeKey = new('a', 64);

    static EncodedDataset Sample()
    {
        var stats = new EncodingStats();
        var samples = new List<TokenizedSample>
        {
            new([1, 2, 3, 4, 5, 6, 7, 8, 9], [false, false, true, true, false, true, true, true, true], new SourceLocation("a.jsonl", 3)),
            new([int.MaxValue, 0, -1], [true, false, true], null),
            new([42, 43], [false, true], new SourceLocation("b.jsonl", 7_000_000_000)),
        };
        foreach (var s in samples) stats.AddSample(s);
        stats.Add(EncodeResult.Problem(new SourceLocation("a.jsonl", 4), "bad"));
        return new EncodedDataset(samples, stats);
    }

    [Fact]
    public void SaveThenLoad_RoundTripsSamplesSourcesAndStats()
    {
        var cache = new TokenizedDatasetCache(dir);
        var data = Sample();
        cache.Save(SomeKey, data);
        Assert.True(cache.TryLoad(SomeKey, out var loaded));
        Assert.Equal(data.Samples.Select(s => s.InputIds), loaded!.Samples.Select(s => s.InputIds));
        Assert.Equal(data.Samples.Select(s => s.Trained), loaded.Samples.Select(s => s.Trained));
        Assert.Equal(data.Samples.Select(s => s.Source), loaded.Samples.Select(s => s.Source));
        Assert.Equal(data.Stats.ToString(), loaded.Stats.ToString());
        Assert.Equal(["a.jsonl:4: Problem: bad"], loaded.Stats.Reasons);
        Assert.Single(Directory.GetFiles(dir));  // no temporary file left behind
    }

    [Fact]
    public void WrongKey_IsAMiss()
    {
        var cache = new TokenizedDatasetCache(dir);
        cache.Save(SomeKey, Sample());
        string other = new('b', 64);
        File.Copy(cache.PathOf(SomeKey), cache.PathOf(other));
        Assert.False(cache.TryLoad(other, out _));  // the key inside the file must match its name
        Assert.False(cache.TryLoad(new string('c', 64), out _));
    }

    public static TheoryData<string> Damage() => ["flip", "truncate", "empty", "garbage", "append"];

    [Theory]
    [MemberData(nameof(Damage))]
    public void DamagedFile_IsIgnoredAndRebuilt(string damage)
    {
        var cache = new TokenizedDatasetCache(dir);
        int builds = 0;
        EncodedDataset Build() { builds++; return Sample(); }
        cache.GetOrCreate(SomeKey, Build);
        string path = cache.PathOf(SomeKey);
        byte[] bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "flip": bytes[bytes.Length / 2] ^= 0x10; break;
            case "truncate": bytes = bytes[..(bytes.Length - 7)]; break;
            case "empty": bytes = []; break;
            case "garbage": bytes = new byte[bytes.Length]; new Random(1).NextBytes(bytes); break;
            case "append": bytes = [.. bytes, 0]; break;
        }
        File.WriteAllBytes(path, bytes);
        Assert.False(cache.TryLoad(SomeKey, out _));
        var rebuilt = cache.GetOrCreate(SomeKey, Build);
        Assert.Equal(2, builds);
        Assert.Equal(3, rebuilt.Samples.Count);
        Assert.True(cache.TryLoad(SomeKey, out _));  // rewritten
    }

    /// <summary>End to end: the second run with the same inputs never calls the encoder; changed inputs miss.</summary>
    [Fact]
    public void SecondRun_SkipsEncoding_AndChangedInputsMiss()
    {
        var tok = Tokenizer("qwen3");
        string tokDir = Fixtures.Get("tokenizers/qwen3");
        string data = Path.Combine(dir, "data.txt");
        File.WriteAllText(data, "What is 1+1?\n2\nWhat is 2+2?\n4\n");
        var template = OwnTemplate("qwen3");
        var settings = new EncodingSettings(256);
        var cache = new TokenizedDatasetCache(Path.Combine(dir, "cache"));

        int encoded = 0;
        EncodedDataset Run(EncodingSettings s, ChatTemplate t)
        {
            string key = CacheKey.Compute([data], tokDir, t, s);
            return cache.GetOrCreate(key, () =>
            {
                var encoder = new ExampleEncoder(tok, t, s);
                string[] lines = File.ReadAllLines(data);
                var examples = Enumerable.Range(0, lines.Length / 2).Select(i => (Example)Chat(("user", lines[2 * i]), ("assistant", lines[2 * i + 1])));
                return DatasetEncoder.EncodeToList(examples.Select(e => { Interlocked.Increment(ref encoded); return e; }), encoder,
                    cancellation: TestContext.Current.CancellationToken);
            });
        }

        var first = Run(settings, template);
        Assert.Equal(2, encoded);
        var second = Run(settings, template);
        Assert.Equal(2, encoded);  // no example went through the encoder
        Assert.Equal(first.Samples.Select(s => s.InputIds), second.Samples.Select(s => s.InputIds));
        Assert.Equal(first.Samples.Select(s => s.Trained), second.Samples.Select(s => s.Trained));
        Assert.Equal(first.Stats.TrainedTokens, second.Stats.TrainedTokens);

        Run(settings with { TrainOn = TrainOn.All }, template);
        Assert.Equal(4, encoded);
        Run(settings, ChatTemplate.BuiltIn("chatml"));
        Assert.Equal(6, encoded);
        File.AppendAllText(data, "What is 3+3?\n6\n");
        Run(settings, template);
        Assert.Equal(9, encoded);
    }

    [Fact]
    public void Save_RejectsAKeyThatIsNotAHash()
    {
        Assert.Throws<ArgumentException>(() => new TokenizedDatasetCache(dir).Save("../escape", Sample()));
    }
}
