using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Tests.Recipes;
using Xunit;

namespace TuneSharp.Training.Tests.Faults;

/// <summary>Corrupt, truncated and half-written checkpoints: detected, skipped with a warning, never silently loaded.</summary>
[Collection("training")]
public sealed class CheckpointFaultTests
{
    const string Steps = "train.max_steps=5";

    static string Checkpoint(string outputDir, int step) => Path.Combine(CheckpointStore.Root(outputDir), $"step-{step:D7}");

    /// <summary>A LoRA run (dropout 0.1) stopped after step 3 with checkpoints at steps 1, 2 and 3.</summary>
    static TuneSharp.Training.Config.TrainConfig Interrupted(TrainHarness h, string name)
    {
        string data = h.WriteChatData(24);
        var cfg = h.Config(h.Yaml("lora", data), Steps, "method.lora.dropout=0.1", "output.save_every_steps=1", "output.keep_last=3",
            $"output.dir={Path.Combine(h.Dir, name)}");
        Assert.Equal("interrupted", h.RunLogged(cfg, stopAt: 3).Status);
        return cfg;
    }

    static List<double> Uninterrupted(TrainHarness h)
    {
        string data = h.WriteChatData(24);
        var cfg = h.Config(h.Yaml("lora", data), Steps, "method.lora.dropout=0.1", $"output.dir={Path.Combine(h.Dir, "reference")}");
        h.RunLogged(cfg);
        return TrainHarness.StepLosses(cfg.Output.Dir);
    }

    [Theory]
    [InlineData("flip")]       // one byte of the adapter weights changed: accepted silently before checksums
    [InlineData("truncate")]   // the optimizer state cut short
    public void DamagedNewestCheckpoint_IsSkipped_AndTheRunResumesExactlyFromThePreviousOne(string damage)
    {
        using var h = new TrainHarness();
        var expected = Uninterrupted(h);
        var cfg = Interrupted(h, "damaged");
        string newest = Checkpoint(cfg.Output.Dir, 3);
        if (damage == "flip")
        {
            string weights = Path.Combine(newest, "trainable.safetensors");
            byte[] bytes = File.ReadAllBytes(weights);
            bytes[^5] ^= 0x10;
            File.WriteAllBytes(weights, bytes);
        }
        else
        {
            using var s = new FileStream(Path.Combine(newest, "optimizer.safetensors"), FileMode.Open);
            s.SetLength(s.Length / 2);
        }

        var log = new StringWriter();
        var summary = h.RunLogged(cfg, log: log);
        Assert.Equal(5, summary.Steps);
        Assert.Contains($"skipping checkpoint {newest}", log.ToString());
        Assert.Contains("resuming from the older checkpoint", log.ToString());
        Assert.Contains("step-0000002", log.ToString());
        var actual = TrainHarness.StepLosses(cfg.Output.Dir);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"step {i + 1}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void NoCheckpointVerifies_IsAClearError_ListingEachOne()
    {
        using var h = new TrainHarness();
        var cfg = Interrupted(h, "all-bad");
        foreach (int step in new[] { 1, 2, 3 }) File.Delete(Path.Combine(Checkpoint(cfg.Output.Dir, step), "rng.safetensors"));
        var ex = Assert.Throws<InvalidDataException>(() => h.RunLogged(cfg));
        Assert.Contains("no checkpoint in", ex.Message);
        Assert.Contains("step-0000001", ex.Message);
        Assert.Contains("rng.safetensors is missing", ex.Message);
    }

    [Fact]
    public void BrokenJson_NamesTheFile()
    {
        using var h = new TrainHarness();
        var cfg = Interrupted(h, "json");
        string state = Path.Combine(Checkpoint(cfg.Output.Dir, 3), "trainer_state.json");
        File.WriteAllText(state, "{ not json");
        using var model = Setup.ModelSetup.Build(cfg, TrainHarness.ModelDir, TorchSharp.torch.ScalarType.Float32);
        using var optimizer = Setup.OptimizerSetup.Build(cfg, model);
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(Checkpoint(cfg.Output.Dir, 3), model, optimizer));
        Assert.Contains(state, ex.Message);
    }
}
