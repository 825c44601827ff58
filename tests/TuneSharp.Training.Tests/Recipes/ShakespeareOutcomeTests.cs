using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// A real outcome: continued pretraining of stories260K (trained on children's stories) on Shakespeare lowers the
/// held-out Shakespeare perplexity substantially. Held-out = the last 10% of tinyshakespeare, never trained on.
/// The numbers are recorded in docs/training-results.md.
/// </summary>
[Collection("training")]
public class ShakespeareOutcomeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("lora", 0.5)]
    [InlineData("full", 0.5)]
    public void ContinuedPretraining_LowersHeldOutPerplexity(string method, double maxRatio)
    {
        using var h = new TrainHarness();
        string text = File.ReadAllText(Fixtures.Get("datasets/tinyshakespeare/input.txt"));
        int cut = text.LastIndexOf("\n\n", text.Length * 9 / 10, StringComparison.Ordinal);
        string train = Path.Combine(h.Dir, "shakespeare_train.txt"), val = Path.Combine(h.Dir, "shakespeare_val.txt");
        File.WriteAllText(train, text[..cut]);
        File.WriteAllText(val, text[(cut + 2)..]);
        var cfg = h.Config($"""
            model:
              path: {TrainHarness.ModelDir}
              dtype: fp32
            method:
              type: {method}
              stage: pretrain
            data:
              datasets: [{train}]
              val_path: {val}
              max_seq_len: 128
            optimizer:
              lr: {(method == "lora" ? "3.0e-3" : "1.0e-3")}
            schedule:
              type: cosine
              warmup_steps: 5
            train:
              max_steps: 40
              micro_batch_size: 8
              seed: 1
            eval:
              max_batches: 16
            output:
              dir: {Path.Combine(h.Dir, "out")}
            logging:
              progress: none
              tensorboard: false
              plot: false
            """, method == "lora" ? ["method.lora.r=16", "method.lora.targets=all-linear"] : []);
        var s = h.Run(cfg);
        double before = Math.Exp(s.EvalLossBefore!.Value), after = Math.Exp(s.EvalLossAfter!.Value);
        output.WriteLine($"{method}: held-out perplexity {before:F2} -> {after:F2} ({after / before:P0}) in {s.Steps} steps, {s.WallSeconds:F1}s");
        Assert.True(after < maxRatio * before, $"{method}: held-out perplexity {before:F2} -> {after:F2}");
    }
}
