using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// Stop and resume equals the uninterrupted run, bit for bit in the losses (1e-6) and adapter weights, for every recipe
/// and with dropout on: nothing outside the training step may draw from the training RNG (the time estimate once did).
/// </summary>
[Collection("training")]
public sealed class ExactResumeTests
{
    public static TheoryData<string, string> Runs => new()
    {
        { "sft", "lora" },
        { "pretrain", "lora" },
        { "sft", "full" },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void StoppedAndResumed_EqualsUninterrupted_WithDropout(string stage, string method)
    {
        using var h = new TrainHarness();
        string data = stage == "pretrain" ? h.WriteText(4000) : h.WriteChatData(24);
        string[] extra = [$"method.stage={stage}", "train.max_steps=6", .. method == "lora" ? ["method.lora.dropout=0.2"] : Array.Empty<string>()];
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
}
