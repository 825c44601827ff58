using TuneSharp.Training.Runtime;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// Stop and resume equals the uninterrupted run, bit for bit in the losses (1e-6) and adapter weights, for every recipe
/// and with dropout on: nothing outside the training step may draw from the training RNG (the time estimate once did).
/// </summary>
[Collection("training")]
public sealed class ExactResumeTests
{
    /// <summary>Stage, method, optimizer overrides: the optimizer state of sgd (momentum buffers) and adamw_8bit (codes and
    /// scales) must come back exactly too.</summary>
    public static TheoryData<string, string, string[]> Runs => new()
    {
        { "sft", "lora", [] },
        { "pretrain", "lora", [] },
        { "dpo", "lora", [] },
        { "dpo", "full", [] },
        { "dpo", "full", ["method.dpo.precompute_ref_log_probs=true"] },
        { "orpo", "full", [] },
        { "simpo", "lora", [] },
        { "kto", "lora", [] },
        { "sft", "full", [] },
        { "sft", "lora", ["optimizer.name=sgd", "optimizer.momentum=0.9", "optimizer.lr=0.05"] },
        { "sft", "full", ["optimizer.name=adamw_8bit"] },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void StoppedAndResumed_EqualsUninterrupted_WithDropout(string stage, string method, string[] optimizer)
    {
        using var h = new TrainHarness();
        string data = stage switch { "pretrain" => h.WriteText(4000), "dpo" or "orpo" or "simpo" => h.WritePreferenceData(24), "kto" => KtoData.Write(h, 24), _ => h.WriteChatData(24) };
        string[] extra = [$"method.stage={stage}", "train.max_steps=6", .. optimizer,
            .. method == "lora" ? ["method.lora.dropout=0.2"] : Array.Empty<string>()];
        var reference = h.Config(h.Yaml(method, data, chatTemplate: stage != "pretrain"), [.. extra, $"output.dir={Path.Combine(h.Dir, "reference")}"]);
        h.RunLogged(reference);
        var interrupted = h.Config(h.Yaml(method, data, chatTemplate: stage != "pretrain"), [.. extra, $"output.dir={Path.Combine(h.Dir, "stopped")}"]);
        Assert.Equal("interrupted", h.RunLogged(interrupted, stopAt: 3).Status);
        Assert.Equal("completed", h.RunLogged(interrupted).Status);

        var expected = TrainHarness.StepLosses(reference.Output.Dir);
        var actual = TrainHarness.StepLosses(interrupted.Output.Dir);
        Assert.Equal(6, actual.Count);
        for (int i = 0; i < 6; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"step {i + 1}: {expected[i]} vs {actual[i]}");
        var w1 = TrainHarness.CheckpointWeights(reference.Output.Dir);
        var w2 = TrainHarness.CheckpointWeights(interrupted.Output.Dir);
        foreach (var (name, t) in w1) Assert.True(t.equal(w2[name]).all().item<bool>(), name);
    }

    [Fact]
    public void ResumeWithAnotherOptimizer_IsRefusedNamingOptimizerName()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var first = h.Config(h.Yaml("lora", data), "train.max_steps=3");
        Assert.Equal("interrupted", h.RunLogged(first, stopAt: 1).Status);
        var other = h.Config(h.Yaml("lora", data), "train.max_steps=3", "optimizer.name=adafactor");
        var ex = Assert.Throws<RunConflictException>(() => h.RunLogged(other, resume: true));
        Assert.Contains("optimizer.name: adamw -> adafactor", ex.Message);
    }
}
