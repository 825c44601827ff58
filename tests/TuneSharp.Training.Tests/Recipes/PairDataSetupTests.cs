using TuneSharp.Data.Encoding;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>Preference pairs from `data:`: a validation split of pairs, the prompt cut from the configured side, and one
/// micro-batch holding the chosen rows then the rejected rows.</summary>
public sealed class PairDataSetupTests
{
    static HfTokenizer Tokenizer => HfTokenizer.Load(TrainHarness.ModelDir);

    static PreparedPairs Prepare(TrainConfig cfg) =>
        PairDataSetup.Prepare(cfg, Tokenizer, TrainHarness.ModelDir, cfg.Method.Dpo.PromptTruncation, TestContext.Current.CancellationToken);

    [Fact]
    public void ValSize_HoldsOutPairs_AndTheFingerprintIsSet()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WritePreferenceData(8)), "method.stage=dpo", "data.val_size=0.25");
        var data = Prepare(cfg);
        Assert.Equal(6, data.Train.Count);
        Assert.Equal(2, data.Validation.Count);
        Assert.Empty(data.Train.Select(p => p.Source).Intersect(data.Validation.Select(p => p.Source)));
        Assert.Equal(64, data.Fingerprint.Length);
    }

    [Theory]
    [InlineData("keep_end")]
    [InlineData("keep_start")]
    public void LongPairs_CutThePromptFromTheConfiguredSide(string side)
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(4);
        var whole = Prepare(h.Config(h.Yaml("lora", data), "method.stage=dpo")).Train[0];
        int max = whole.Prompt.Length / 2 + whole.ChosenCompletion.Length + 2; // forces the prompt to be cut
        var cut = Prepare(h.Config(h.Yaml("lora", data), "method.stage=dpo", $"data.max_seq_len={max}",
            $"method.dpo.prompt_truncation={side}"));
        var pair = cut.Train[0];
        Assert.True(pair.Prompt.Length < whole.Prompt.Length);
        var expected = side == "keep_end" ? whole.Prompt[^pair.Prompt.Length..] : whole.Prompt[..pair.Prompt.Length];
        Assert.Equal(expected, pair.Prompt);
        Assert.Contains(cut.Notes, n => n.Contains("training pair(s) truncated"));
    }

    [Fact]
    public void Collate_PutsTheChosenRowsFirst_ThenTheRejectedRows()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WritePreferenceData(4)), "method.stage=dpo");
        var pairs = Prepare(cfg).Train;
        var batch = PairDataSetup.Collate([.. pairs.Take(2)], padId: 0);
        Assert.Equal(4, batch.Rows);
        var rows = new[] { pairs[0].Chosen, pairs[1].Chosen, pairs[0].Rejected, pairs[1].Rejected };
        for (int r = 0; r < 4; r++)
            Assert.Equal(rows[r].InputIds.Select(i => (long)i), batch.InputIds.Skip(r * batch.Length).Take(rows[r].Length));
        Assert.Equal(rows.Sum(s => s.TrainedCount), batch.TrainedTokens);
    }
}
