using TuneSharp.Tokenizers;
using TuneSharp.Training.Setup;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

public class DataSetupCacheTests
{
    [Fact]
    public void SecondPreparation_LoadsTheSameSamplesFromTheCache_AndAChangeInvalidatesIt()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(12);
        var cfg = h.Config(h.Yaml("lora", data), "data.val_size=0.25");
        var tok = HfTokenizer.Load(TrainHarness.ModelDir);
        string cacheDir = Path.Combine(h.Dir, "cache");

        var first = DataSetup.Prepare(cfg, tok, TrainHarness.ModelDir, cacheDir, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(first.Notes, n => n.Contains("from the cache"));
        var second = DataSetup.Prepare(cfg, tok, TrainHarness.ModelDir, cacheDir, TestContext.Current.CancellationToken);
        Assert.Contains(second.Notes, n => n.Contains("from the cache"));
        Assert.Equal(first.Train.Select(s => s.InputIds), second.Train.Select(s => s.InputIds));
        Assert.Equal(first.Train.Select(s => s.Trained), second.Train.Select(s => s.Trained));
        Assert.Equal(first.Validation.Select(s => s.InputIds), second.Validation.Select(s => s.InputIds));

        // Different settings or different data miss the cache.
        var longer = DataSetup.Prepare(h.Config(h.Yaml("lora", data), "data.val_size=0.25", "data.max_seq_len=64"), tok, TrainHarness.ModelDir, cacheDir, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(longer.Notes, n => n.Contains("from the cache"));
        File.AppendAllText(data, File.ReadLines(data).First().Replace("cat", "cow") + "\n");
        var changed = DataSetup.Prepare(cfg, tok, TrainHarness.ModelDir, cacheDir, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(changed.Notes, n => n.Contains("from the cache"));
    }

    [Fact]
    public void DataKey_FollowsWhatDecidesTheSamples_NotTheAdapterOrTheLoss()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(12);
        var tok = HfTokenizer.Load(TrainHarness.ModelDir);
        string Key(params string[] overrides)
        {
            var cfg = h.Config(h.Yaml("lora", data), overrides);
            return DataSetup.Prepare(cfg, tok, TrainHarness.ModelDir, Path.Combine(h.Dir, "cache"), TestContext.Current.CancellationToken).Fingerprint;
        }
        string key = Key();
        Assert.Equal(key, Key("method.lora.r=4"));
        Assert.Equal(key, Key("optimizer.lr=0.5"));
        Assert.NotEqual(key, Key("method.sft.train_on=all"));
        Assert.NotEqual(key, Key("data.val_size=0.25"));
        Assert.NotEqual(key, Key("method.stage=dpo", "method.dpo.beta=0.5"));
    }
}
