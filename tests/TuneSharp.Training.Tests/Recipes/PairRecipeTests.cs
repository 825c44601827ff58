using System.Text.Json;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// What every pair method (DPO, ORPO, SimPO) must do in the shared loop (<see cref="Recipes.PairRecipe"/>), end to end on
/// stories260K: every parameter method and dtype, gradient accumulation equal to one batch, TRL's metric names in
/// training and evaluation, a toy preference learned, chat data refused, no leaked tensors. DPO-only invariants are in
/// <see cref="DpoRecipeTests"/>; exact resume in <see cref="ExactResumeTests"/>.
/// </summary>
[Collection("training")]
public sealed class PairRecipeTests
{
    internal static TrainConfig Pairs(TrainHarness h, string stage, string method, string data, string output, params string[] overrides) =>
        h.Config(h.Yaml(method, data), [$"method.stage={stage}", $"output.dir={Path.Combine(h.Dir, output)}",
            .. method == "freeze" ? ["method.freeze.trainable_layers=[-1]"] : Array.Empty<string>(), .. overrides]);

    static double Metric(JsonElement record, string name) => record.GetProperty(name).GetDouble();

    /// <summary>The metric names of each stage, as TRL's DPOTrainer / ORPOTrainer / CPOTrainer log them.</summary>
    static readonly string[] Common = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"];
    static string[] MetricNames(string stage) => stage switch
    {
        "orpo" => [.. Common, "nll_loss", "log_odds_ratio", "log_odds_chosen"],
        "simpo" => [.. Common, "nll_loss"],
        _ => Common,
    };

    static IPairObjective Objective(TrainConfig cfg) => cfg.Method.Stage switch
    {
        Stage.Dpo => new DpoObjective(cfg.Method.Dpo),
        Stage.Orpo => new OrpoObjective(cfg.Method.Orpo),
        Stage.Simpo => new SimPoObjective(cfg.Method.Simpo),
        var other => throw new ArgumentOutOfRangeException(nameof(cfg), other, "not a pair stage"),
    };

    [Theory]
    [InlineData("orpo", "full", "fp32")]
    [InlineData("orpo", "freeze", "bf16")]
    [InlineData("orpo", "lora", "bf16")]
    [InlineData("orpo", "qlora", "fp32")]
    [InlineData("simpo", "full", "bf16")]
    [InlineData("simpo", "freeze", "fp32")]
    [InlineData("simpo", "dora", "fp32")]
    [InlineData("simpo", "qlora", "bf16")]
    public void ReferenceFreeStage_TrainsEveryMethod_WithTrlMetrics(string stage, string method, string dtype)
    {
        using var h = new TrainHarness();
        var cfg = Pairs(h, stage, method, h.WritePreferenceData(8), "out", $"model.dtype={dtype}", "train.max_steps=2", "data.val_size=0.25",
            "eval.every_steps=2", "optimizer.lr=1.0e-2");
        Assert.Equal("completed", h.RunLogged(cfg).Status);

        var steps = TrainHarness.Records(cfg.Output.Dir, "step");
        Assert.Equal(2, steps.Count);
        foreach (var step in steps)
        {
            foreach (string name in MetricNames(stage)) Assert.True(double.IsFinite(Metric(step, name)), $"{name} in {step}");
            // Reference-free rewards are beta x the per-token mean log-prob (TRL).
            Assert.True(Math.Abs(Metric(step, "rewards/chosen") - 0.1 * Metric(step, "logps/chosen")) <= 1e-5 * Math.Max(1, Math.Abs(Metric(step, "rewards/chosen"))),
                step.ToString());
            if (stage == "orpo") // loss = nll + beta x -log sigma(log odds ratio), both means over the pairs
                Assert.True(Math.Abs(Metric(step, "loss") - (Metric(step, "nll_loss") - 0.1 * Metric(step, "log_odds_ratio"))) <= 1e-4, step.ToString());
        }
        Assert.NotEqual(Metric(steps[0], "logps/chosen"), Metric(steps[1], "logps/chosen")); // the first step changed the model
        var evals = TrainHarness.Records(cfg.Output.Dir, "eval");
        Assert.Equal([0L, 2L], evals.Select(e => e.GetProperty("step").GetInt64()));
        foreach (string name in MetricNames(stage)) Assert.True(double.IsFinite(Metric(evals[^1], "eval_" + name)), $"eval_{name} in {evals[^1]}");
        string saved = method is "full" or "freeze" ? Path.Combine("model", "config.json") : Path.Combine("adapter", "adapter_model.safetensors");
        Assert.True(File.Exists(Path.Combine(cfg.Output.Dir, saved)), saved);
    }

    /// <summary>With SGD, so the weights differ only by lr x the gradients' fp32 summation noise (~1e-7 relative; Adam's
    /// 1/sqrt(v) would amplify it wherever a gradient is near 0, e.g. LoRA A while B is still ~0). Not with RPO: its NLL
    /// is TRL's mean over the chosen tokens of each micro-batch, which depends on the split.</summary>
    [Theory]
    [InlineData("dpo", "lora", "method.dpo.loss_type=ipo")]
    [InlineData("orpo", "full", "method.orpo.beta=0.2")]
    [InlineData("simpo", "lora", "method.simpo.beta=2.0")]
    public void GradientAccumulation_TwoByTwoPairs_EqualsOneBatchOfFour(string stage, string method, string setting)
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(16);
        string[] common = ["train.max_steps=3", "optimizer.name=sgd", "optimizer.lr=0.1", setting];
        var split = Pairs(h, stage, method, data, "split", ["train.micro_batch_size=2", "train.grad_accum=2", .. common]);
        var whole = Pairs(h, stage, method, data, "whole", ["train.micro_batch_size=4", "train.grad_accum=1", .. common]);
        h.RunLogged(split);
        h.RunLogged(whole);

        var a = TrainHarness.Records(split.Output.Dir, "step");
        var b = TrainHarness.Records(whole.Output.Dir, "step");
        Assert.Equal(3, a.Count);
        for (int i = 0; i < 3; i++)
            foreach (string name in new[] { "loss", "rewards/margins", "logps/chosen" })
                Assert.True(Math.Abs(Metric(a[i], name) - Metric(b[i], name)) <= 1e-6 * Math.Max(10, Math.Abs(Metric(b[i], name))), $"step {i + 1} {name}: {Metric(a[i], name)} vs {Metric(b[i], name)}");
        Assert.NotEqual(Metric(b[0], "logps/chosen"), Metric(b[2], "logps/chosen")); // the steps moved the weights
        var w1 = TrainHarness.CheckpointWeights(split.Output.Dir);
        var w2 = TrainHarness.CheckpointWeights(whole.Output.Dir);
        Assert.NotEmpty(w1);
        foreach (var (name, t) in w1)
            Assert.True(t.allclose(w2[name], rtol: 0, atol: 1e-6), $"{name}: max diff {(t - w2[name]).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData("orpo")]
    [InlineData("simpo")]
    public void ToyTask_HeldOutRewardAccuracy_Rises(string stage)
    {
        // Chosen always ends "was very happy", rejected "was very sad": held-out pairs have unseen prompt/length mixes.
        using var h = new TrainHarness();
        var cfg = Pairs(h, stage, "lora", h.WritePreferenceData(32), "out", "data.val_size=0.25", "train.max_steps=6", "eval.every_steps=6",
            "optimizer.lr=1.0e-2", "method.lora.targets=all-linear");
        h.RunLogged(cfg);
        var evals = TrainHarness.Records(cfg.Output.Dir, "eval");
        Assert.Equal([0L, 6L], evals.Select(e => e.GetProperty("step").GetInt64()));
        double before = Metric(evals[0], "eval_rewards/accuracies"), after = Metric(evals[^1], "eval_rewards/accuracies");
        Assert.True(after >= 0.9 && after > before, $"held-out reward accuracy {before} -> {after}");
        Assert.True(Metric(evals[^1], "eval_rewards/margins") > Metric(evals[0], "eval_rewards/margins"), evals[^1].ToString());
        Assert.True(Metric(evals[^1], "loss") < Metric(evals[0], "loss"), evals[^1].ToString());
    }

    [Theory]
    [InlineData("dpo")]
    [InlineData("orpo")]
    [InlineData("simpo")]
    public void ChatData_IsRefusedNamingTheStage(string stage)
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(6);
        var ex = Assert.Throws<DataValidationException>(() => h.RunLogged(Pairs(h, stage, "lora", data, "out")));
        Assert.Contains($"{data}:1: method.stage {stage} needs preference pairs", ex.Message);
    }

    [Theory]
    [InlineData("dpo", "lora", "method.dpo.rpo_alpha=0.5")]
    [InlineData("dpo", "full", "method.dpo.loss_type=hinge")]
    [InlineData("orpo", "lora", "method.orpo.beta=0.2")]
    [InlineData("simpo", "full", "method.simpo.label_smoothing=0.1")]
    public void Steps_AndEvaluation_LeakNoTensors(string stage, string method, string setting)
    {
        using var h = new TrainHarness();
        var cfg = Pairs(h, stage, method, h.WritePreferenceData(4), "out", ["train.micro_batch_size=2", setting,
            .. method == "lora" ? ["method.lora.dropout=0.1"] : Array.Empty<string>()]);
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        var data = PairDataSetup.Prepare(cfg, model.Tokenizer, TrainHarness.ModelDir, Data.Encoding.PromptTruncation.KeepEnd, TestContext.Current.CancellationToken);
        var batches = data.Train.Chunk(2).Select(c => PairDataSetup.Collate(c, padId: 0)).ToList();
        var objective = Objective(cfg);
        using var optimizer = OptimizerSetup.Build(cfg, model);
        var driver = new StepDriver(model.Trainable, optimizer, OptimizerSetup.Schedule(cfg.Schedule), cfg.Optimizer.Lr, 1.0, 10);
        var heldOut = new HeldOutObjective(batches, maxBatches: null);
        model.Model.train();
        long step = 0;
        long growth = LiveTensors.GrowthOver(3, () =>
        {
            var r = driver.Step(step++, batches, PairScores.Pairs, b => objective.Loss(model.Model, b));
            Assert.True(double.IsFinite(r.Loss) && r.Metrics.ContainsKey("rewards/margins"), $"{r.Loss}");
            var e = heldOut.Evaluate(model.Model, PairScores.Pairs, b => objective.Loss(model.Model, b, prefix: "eval_"));
            Assert.True(e.Metrics.ContainsKey("eval_rewards/margins"));
        });
        Assert.Equal(0, growth);
    }
}
