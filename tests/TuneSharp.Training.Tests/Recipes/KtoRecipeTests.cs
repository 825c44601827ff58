using System.Text.Json;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>KTO end to end on stories260K with adapters: the invariants of a fresh run, gradient accumulation, a toy
/// task that is learned, pair data unpaired, bad data, and no leaked tensors.</summary>
[Collection("training")]
public sealed class KtoRecipeTests
{
    static TrainConfig Kto(TrainHarness h, string data, string output, params string[] overrides) =>
        h.Config(h.Yaml("lora", data), ["method.stage=kto", $"output.dir={Path.Combine(h.Dir, output)}", .. overrides]);

    static double Metric(JsonElement record, string name) => record.GetProperty(name).GetDouble();

    [Theory]
    [InlineData("lora", "fp32")]
    [InlineData("dora", "fp32")]
    [InlineData("qlora", "fp32")]
    [InlineData("lora", "bf16")]
    [InlineData("qlora", "bf16")]
    public void FirstStep_OfAFreshAdapterRun_HasHalfTheWeights_AndZeroRewardsAndKl(string method, string dtype)
    {
        // B starts at 0: policy == reference, so every log-ratio and z0 are 0 and each loss is w (1 - sigma(0)) = w / 2.
        // One step over all 8 examples (4 desirable, 4 undesirable): (4 x 1.5 / 2 + 4 x 1.0 / 2) / 8 = 0.625.
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml(method, KtoData.Write(h, 8)), "method.stage=kto", $"model.dtype={dtype}", $"output.dir={Path.Combine(h.Dir, "out")}",
            "train.max_steps=1", "train.micro_batch_size=8", "method.kto.desirable_weight=1.5");
        Assert.Equal("completed", h.RunLogged(cfg).Status);
        var step = TrainHarness.Records(cfg.Output.Dir, "step").Single();
        Assert.True(Math.Abs(Metric(step, "loss") - 0.625) <= 1e-6, $"loss {Metric(step, "loss")}");
        foreach (string name in new[] { "rewards/chosen", "rewards/rejected", "rewards/margins", "kl" })
            Assert.True(Math.Abs(Metric(step, name)) <= 1e-5, $"{name} {Metric(step, name)}");
        // LoRA adds exactly 0 (x A^T 0): bit-identical log-probs. DoRA renormalises the weight, equal only to rounding.
        if (method == "lora")
            foreach (string name in new[] { "rewards/chosen", "rewards/rejected", "kl" })
                Assert.Equal(0.0, Metric(step, name));
        Assert.True(Metric(step, "logps/chosen") < 0 && Metric(step, "logps/rejected") < 0, step.ToString());
        Assert.True(File.Exists(Path.Combine(cfg.Output.Dir, "adapter", "adapter_model.safetensors")));
    }

    [Theory]
    [InlineData("full", "fp32")]
    [InlineData("freeze", "fp32")]
    [InlineData("full", "bf16")]
    public void FullAndFreezeRuns_StartFromAFrozenCopy_WithZeroRewardsAndKl(string method, string dtype)
    {
        // The reference is a frozen copy of the starting weights: at step 1 policy == reference exactly.
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml(method, KtoData.Write(h, 8)), ["method.stage=kto", $"model.dtype={dtype}", $"output.dir={Path.Combine(h.Dir, "out")}",
            "train.max_steps=2", "train.micro_batch_size=8", "method.kto.desirable_weight=1.5", "optimizer.lr=1.0e-2",
            .. method == "freeze" ? ["method.freeze.trainable_layers=[-1]"] : Array.Empty<string>()]);
        Assert.Equal("completed", h.RunLogged(cfg).Status);
        var steps = TrainHarness.Records(cfg.Output.Dir, "step");
        Assert.Equal(0.625, Metric(steps[0], "loss"), 1e-6);
        foreach (string name in new[] { "rewards/chosen", "rewards/rejected", "kl" })
            Assert.Equal(0.0, Metric(steps[0], name));
        // Step 2 runs on trained weights against the same untouched copy: the rewards have moved apart.
        Assert.True(Metric(steps[1], "rewards/chosen") != 0 && Metric(steps[1], "loss") != 0.625, steps[1].ToString());
        Assert.True(File.Exists(Path.Combine(cfg.Output.Dir, "model", "config.json")));
    }

    [Fact]
    public void GradientAccumulation_TwoByTwo_EqualsOneBatchOfFour()
    {
        // The KL estimate z0 is one per optimizer step (over all its examples' KL rows), so after the first step too
        // (z0 > 0, the adapters moved) two micro-batches of 2 equal one of 4.
        using var h = new TrainHarness();
        string data = KtoData.Write(h, 16);
        var split = Kto(h, data, "split", "train.micro_batch_size=2", "train.grad_accum=2", "train.max_steps=3", "optimizer.lr=3.0e-3");
        var whole = Kto(h, data, "whole", "train.micro_batch_size=4", "train.grad_accum=1", "train.max_steps=3", "optimizer.lr=3.0e-3");
        h.RunLogged(split);
        h.RunLogged(whole);

        var a = TrainHarness.Records(split.Output.Dir, "step");
        var b = TrainHarness.Records(whole.Output.Dir, "step");
        Assert.Equal(3, a.Count);
        for (int i = 0; i < 3; i++)
        {
            // A step of 4 shuffled examples may hold one label only: then its other side's metrics are absent in both runs.
            var names = b[i].EnumerateObject().Select(p => p.Name).Where(n => n is "loss" or "grad_norm" or "kl" || n.Contains('/')).ToList();
            Assert.Equal(names.Order(), a[i].EnumerateObject().Select(p => p.Name).Where(n => n is "loss" or "grad_norm" or "kl" || n.Contains('/')).Order());
            // Rewards and z0 are differences of sequence log-probs of magnitude ~100 (logps/*): fp32 noise of 1e-6 of
            // those (padding and summation order differ) is 1e-4 in them.
            foreach (string name in names)
                Assert.True(Math.Abs(Metric(a[i], name) - Metric(b[i], name)) <= 1e-6 * Math.Max(100, Math.Abs(Metric(b[i], name))),
                    $"step {i + 1} {name}: {Metric(a[i], name)} vs {Metric(b[i], name)}");
        }
        Assert.Contains(b.Skip(1), s => s.TryGetProperty("rewards/chosen", out var r) && r.GetDouble() != 0 || Metric(s, "kl") > 0);
        // Same fp32 noise argument as DPO's test: ~1e-7 relative in the gradients, lifted by Adam to ~1e-5 in the weights.
        var w1 = TrainHarness.CheckpointWeights(split.Output.Dir);
        var w2 = TrainHarness.CheckpointWeights(whole.Output.Dir);
        Assert.NotEmpty(w1);
        foreach (var (name, t) in w1)
            Assert.True(t.allclose(w2[name], rtol: 0, atol: 5e-5), $"{name}: max diff {(t - w2[name]).abs().max().item<float>()}");
    }

    [Fact]
    public void ToyTask_HeldOutRewardMargin_Rises()
    {
        // Desirable completions end "was very happy", undesirable ones "was very sad"; every prompt has one completion.
        using var h = new TrainHarness();
        var cfg = Kto(h, KtoData.Write(h, 32), "out", "data.val_size=0.25", "train.max_steps=6", "eval.every_steps=6",
            "optimizer.lr=5.0e-3", "method.lora.targets=all-linear");
        h.RunLogged(cfg);
        var evals = TrainHarness.Records(cfg.Output.Dir, "eval");
        Assert.Equal([0L, 6L], evals.Select(e => e.GetProperty("step").GetInt64()));
        double before = Metric(evals[0], "eval_rewards/margins"), after = Metric(evals[^1], "eval_rewards/margins");
        Assert.Equal(0.0, before); // policy == reference
        Assert.True(after > 0.5, $"held-out reward margin {before} -> {after}");
        Assert.True(Metric(evals[^1], "eval_rewards/chosen") > 0 && Metric(evals[^1], "eval_rewards/rejected") < 0, evals[^1].ToString());
        Assert.True(Metric(evals[^1], "loss") < Metric(evals[0], "loss"), $"{evals[0]} -> {evals[^1]}");
        Assert.True(evals[^1].TryGetProperty("eval_kl", out _), evals[^1].ToString());
    }

    [Fact]
    public void PreferencePairs_AreUnpaired_ChosenDesirable_RejectedUndesirable()
    {
        // 4 pairs -> 8 examples, 4 of each label, in one micro-batch: the loss is (4 x 1 / 2 + 4 x 2 / 2) / 8 = 0.75.
        using var h = new TrainHarness();
        var cfg = Kto(h, h.WritePreferenceData(4), "out", "train.max_steps=1", "train.micro_batch_size=8", "method.kto.undesirable_weight=2");
        var log = new StringWriter();
        h.RunLogged(cfg, log: log);
        var step = TrainHarness.Records(cfg.Output.Dir, "step").Single();
        Assert.True(Math.Abs(Metric(step, "loss") - 0.75) <= 1e-6, $"loss {Metric(step, "loss")}");
    }

    [Theory]
    [InlineData(true, "desirable (label true)")]
    [InlineData(false, "undesirable (label false)")]
    public void OneLabelOnly_IsRefusedNamingTheFile(bool label, string named)
    {
        using var h = new TrainHarness();
        string data = KtoData.Write(h, 6, label: label);
        var ex = Assert.Throws<DataValidationException>(() => h.RunLogged(Kto(h, data, "out")));
        Assert.Contains($"all 6 training examples are {named}", ex.Message);
        Assert.Contains($"{data}:1-6: 6 {named}", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(h.Dir, "out", "checkpoints")));
    }

    [Fact]
    public void EmptyCompletion_IsRefusedNamingFileAndLine()
    {
        using var h = new TrainHarness();
        string data = KtoData.Write(h, 6);
        var lines = File.ReadAllLines(data);
        lines[2] = """{"prompt": [{"role": "user", "content": "Tell me a story."}], "completion": [{"role": "assistant", "content": ""}], "label": true}""";
        File.WriteAllLines(data, lines);
        var ex = Assert.Throws<DataValidationException>(() => h.RunLogged(Kto(h, data, "out")));
        Assert.Contains($"{data}:3", ex.Message);
        Assert.Contains("completion is empty", ex.Message);
    }

    [Fact]
    public void ChatData_IsRefusedNamingTheStage()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(6);
        var ex = Assert.Throws<DataValidationException>(() => h.RunLogged(Kto(h, data, "out")));
        Assert.Contains($"{data}:1: method.stage kto needs completions labelled desirable or undesirable", ex.Message);
    }

    [Fact]
    public void KtoSteps_AndEvaluation_LeakNoTensors()
    {
        using var h = new TrainHarness();
        var cfg = Kto(h, KtoData.Write(h, 6), "out", "method.lora.dropout=0.1", "train.micro_batch_size=2", "train.grad_accum=2");
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        var data = KtoDataSetup.Prepare(cfg, model.Tokenizer, TrainHarness.ModelDir, TestContext.Current.CancellationToken);
        var batches = KtoDataSetup.Batches(data.Train, 2, 2, cfg.Data.MaxSeqLen, padId: 0);
        var objective = new KtoObjective(cfg.Method.Kto);
        using var optimizer = OptimizerSetup.Build(cfg, model);
        var driver = new StepDriver(model.Trainable, optimizer, OptimizerSetup.Schedule(cfg.Schedule), cfg.Optimizer.Lr, 1.0, 10);
        var heldOut = new HeldOutObjective(batches, maxBatches: null);
        model.Model.train();
        long step = 0;
        long growth = LiveTensors.GrowthOver(3, () =>
        {
            double kl = objective.Kl(model.Model, batches);
            var r = driver.Step(step++, batches, KtoObjective.Completions, b => objective.Loss(model.Model, b, kl));
            Assert.True(double.IsFinite(r.Loss) && r.Metrics.ContainsKey("kl"), $"{r.Loss}");
            heldOut.Evaluate(model.Model, KtoObjective.Completions, b => objective.Loss(model.Model, b, objective.Kl(model.Model, [b]), prefix: "eval_"));
        });
        Assert.Equal(0, growth);
    }
}
