using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Setup;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>KTO examples from `data:` (labelled completions, unpaired pairs, TRL truncation) and their batches: the
/// completion rows, then KL rows that put each completion after the next example's prompt within a step's group.</summary>
public sealed class KtoDataSetupTests
{
    static HfTokenizer Tokenizer => HfTokenizer.Load(TrainHarness.ModelDir);

    static TokenizedCompletion Example(int i, bool desirable) =>
        new([1, 100 + i, 200 + i], [300 + i, 301 + i, 302 + i + i % 2], desirable, new SourceLocation("x.jsonl", i + 1));

    static long[] Row(Data.Batching.TrainBatch b, int r) => [.. b.InputIds.Skip(r * b.Length).Take(b.Length)];

    [Fact]
    public void Batches_HoldCompletionRows_ThenKlRows_RotatedWithinTheStep()
    {
        var examples = Enumerable.Range(0, 8).Select(i => Example(i, i % 3 == 0)).ToList();
        var batches = KtoDataSetup.Batches(examples, microBatch: 2, groupBatches: 2, maxSeqLen: 64, padId: 0);
        Assert.Equal(4, batches.Count);
        for (int m = 0; m < 4; m++)
        {
            var b = batches[m];
            Assert.Equal(4, b.Rows);
            int group = m / 2 * 4;                            // first example of this step's group of 4
            for (int j = 0; j < 2; j++)
            {
                int i = m * 2 + j, next = group + (i - group + 1) % 4;
                Assert.Equal(examples[i].Row.InputIds.Select(x => (long)x), Row(b, j).Take(examples[i].Row.Length));
                // KL row: example i's completion after the prompt of the next example of its step (the last wraps to the first)
                Assert.Equal(examples[next].Prompt.Concat(examples[i].Completion).Select(x => (long)x), Row(b, 2 + j).Take(6));
                Assert.Equal(examples[i].Desirable, b.Desirable![j]);
            }
            Assert.Equal(examples.Skip(m * 2).Take(2).Sum(e => e.Row.TrainedCount), b.TrainedTokens); // KL rows are not trained
        }
    }

    [Fact]
    public void ALoneLastExample_JoinsTheStepBeforeIt()
    {
        var examples = Enumerable.Range(0, 5).Select(i => Example(i, i % 2 == 0)).ToList();
        var batches = KtoDataSetup.Batches(examples, microBatch: 2, groupBatches: 2, maxSeqLen: 64, padId: 0);
        Assert.Equal([4, 6], batches.Select(b => b.Rows));    // 2 examples, then 3: still two micro-batches per step
        // The group is all 5 examples: example 4's KL row uses example 0's prompt, example 3's uses example 4's.
        Assert.Equal(examples[0].Prompt.Concat(examples[4].Completion).Select(x => (long)x), Row(batches[1], 5).Take(6));
        Assert.Equal(examples[4].Prompt.Concat(examples[3].Completion).Select(x => (long)x), Row(batches[1], 4).Take(6));
    }

    [Fact]
    public void KlRows_LongerThanMaxSeqLen_AreCutAtTheCompletionEnd()
    {
        var longPrompt = new TokenizedCompletion([1, 2, 3, 4, 5, 6], [7, 8], true, new SourceLocation("x", 1));
        var shortPrompt = new TokenizedCompletion([1, 9], [10, 11, 12, 13, 14, 15], false, new SourceLocation("x", 2));
        var b = KtoDataSetup.Batches([longPrompt, shortPrompt], 2, 1, maxSeqLen: 8, padId: 0).Single();
        Assert.Equal(8, b.Length);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 10, 11], Row(b, 3));   // shortPrompt's completion after longPrompt's prompt, cut to 8
    }

    [Fact]
    public void PreferencePairs_AreUnpaired_AndLongExamplesCutThePromptFirst()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WritePreferenceData(4)), "method.stage=kto");
        var data = KtoDataSetup.Prepare(cfg, Tokenizer, TrainHarness.ModelDir, TestContext.Current.CancellationToken);
        Assert.Equal(8, data.Train.Count);
        Assert.Equal([true, false], data.Train.Take(2).Select(e => e.Desirable));
        Assert.Equal(data.Train[0].Prompt, data.Train[1].Prompt);
        Assert.Equal(data.Train[0].Source, data.Train[1].Source);
        Assert.Contains(data.Notes, n => n.Contains("4 training preference pair(s) unpaired"));
        Assert.Equal(64, data.Fingerprint.Length);

        var whole = data.Train[0];
        int max = whole.Prompt.Length / 2 + whole.Completion.Length + 2; // forces the prompt to be cut
        var cut = KtoDataSetup.Prepare(h.Config(h.Yaml("lora", cfg.Data.Datasets[0].Path), "method.stage=kto", $"data.max_seq_len={max}",
            "method.kto.prompt_truncation=keep_start"), Tokenizer, TrainHarness.ModelDir, TestContext.Current.CancellationToken).Train[0];
        Assert.True(cut.Prompt.Length < whole.Prompt.Length);
        Assert.Equal(whole.Prompt[..cut.Prompt.Length], cut.Prompt);
        // The prompt keeps at least half of max_seq_len; the completion gets the rest, cut at its end.
        Assert.Equal(Math.Max(max / 2, max - whole.Completion.Length), cut.Prompt.Length);
        Assert.Equal(whole.Completion[..(max - cut.Prompt.Length)], cut.Completion);
    }

    [Fact]
    public void LlamaFactoryKtoDemo_IsRead_WithBothLabels()
    {
        // The real LLaMA-Factory demo file (messages + label; the last message is the judged completion).
        using var h = new TrainHarness();
        string demo = Fixtures.Get("datasets/llamafactory-demo/kto_en_demo.json");
        var data = KtoDataSetup.Prepare(h.Config(h.Yaml("lora", demo), "method.stage=kto", "data.max_seq_len=256"), Tokenizer,
            TrainHarness.ModelDir, TestContext.Current.CancellationToken);
        Assert.True(data.Train.Count > 100, $"{data.Train.Count}");
        Assert.Contains(data.Train, e => e.Desirable);
        Assert.Contains(data.Train, e => !e.Desirable);
        Assert.All(data.Train, e => Assert.True(e.Completion.Length > 0 && e.Prompt.Length + e.Completion.Length <= 256));
        Assert.Contains(data.Notes, n => n.Contains("desirable,") && n.Contains("undesirable training example(s)"));
    }

    [Fact]
    public void IdenticalPair_IsRefusedNamingFileAndLine()
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(4);
        var lines = File.ReadAllLines(data);
        lines[1] = lines[1].Replace("sad", "happy");
        File.WriteAllLines(data, lines);
        var ex = Assert.Throws<DataValidationException>(() => KtoDataSetup.Prepare(h.Config(h.Yaml("lora", data), "method.stage=kto"), Tokenizer,
            TrainHarness.ModelDir, TestContext.Current.CancellationToken));
        Assert.Contains($"{data}:2: chosen and rejected are identical", ex.Message);
    }

    [Fact]
    public void UnbalancedLabels_GetTrlsWeightAdvice()
    {
        using var h = new TrainHarness();
        string data = KtoData.Write(h, 8);
        var lines = File.ReadAllLines(data);
        lines[0] = lines[0].Replace("\"label\":true", "\"label\":false").Replace("happy", "sad");
        File.WriteAllLines(data, lines);
        var prepared = KtoDataSetup.Prepare(h.Config(h.Yaml("lora", data), "method.stage=kto"), Tokenizer, TrainHarness.ModelDir,
            TestContext.Current.CancellationToken);
        Assert.Contains("3 desirable, 5 undesirable training example(s)", prepared.Notes);
        Assert.Contains(prepared.Notes, n => n.StartsWith("warning: desirable_weight x 3 / (undesirable_weight x 5) = 0.6"));
    }
}
