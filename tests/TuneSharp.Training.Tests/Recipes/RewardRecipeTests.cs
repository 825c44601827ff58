using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Data;
using TuneSharp.Models;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Reward;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>Reward models end to end on stories260K: every method type and dtype, gradient accumulation, exact resume
/// with the head in the checkpoints, a learnable trait, both output layouts loaded back, bad data, no leaked tensors.</summary>
[Collection("training")]
public sealed class RewardRecipeTests
{
    static TrainConfig Reward(TrainHarness h, string method, string data, string output, params string[] overrides) =>
        h.Config(h.Yaml(method, data), ["method.stage=reward", $"output.dir={Path.Combine(h.Dir, output)}", .. overrides]);

    static double Metric(JsonElement record, string name) => record.GetProperty(name).GetDouble();

    [Theory]
    [InlineData("full", "fp32")]
    [InlineData("full", "bf16")]
    [InlineData("freeze", "fp32")]
    [InlineData("lora", "fp32")]
    [InlineData("lora", "bf16")]
    [InlineData("dora", "fp32")]
    [InlineData("qlora", "bf16")]
    public void EveryMethodType_TrainsTheHead_AndCheckpointsIt(string method, string dtype)
    {
        using var h = new TrainHarness();
        string[] extra = method == "freeze" ? ["method.freeze.trainable_layers=[-1]"] : [];
        var cfg = Reward(h, method, h.WritePreferenceData(8), "out", ["train.max_steps=2", $"model.dtype={dtype}", .. extra]);
        Assert.Equal("completed", h.RunLogged(cfg).Status);
        var steps = TrainHarness.Records(cfg.Output.Dir, "step");
        Assert.Equal(2, steps.Count);
        foreach (var s in steps)
        {
            Assert.True(double.IsFinite(Metric(s, "loss")) && Metric(s, "loss") > 0, s.ToString());
            Assert.InRange(Metric(s, "rewards/accuracies"), 0, 1);
        }
        var weights = TrainHarness.CheckpointWeights(cfg.Output.Dir);
        Assert.Equal(ScalarType.Float32, weights["score.weight"].dtype); // the head stays fp32 on a bf16 base
        Assert.DoesNotContain("lm_head.weight", weights.Keys);
        Assert.True(Directory.Exists(Path.Combine(cfg.Output.Dir, method is "full" or "freeze" ? "model" : "adapter")));
    }

    [Fact]
    public void FirstStep_Loss_IsTheBradleyTerryLossOfTheFreshHead()
    {
        // The fresh head (std 0.02 on unit-scale hidden states) gives scores near 0: the loss starts near ln 2.
        using var h = new TrainHarness();
        var cfg = Reward(h, "lora", h.WritePreferenceData(8), "out", "train.max_steps=1");
        h.RunLogged(cfg);
        var step = TrainHarness.Records(cfg.Output.Dir, "step").Single();
        Assert.True(Math.Abs(Metric(step, "loss") - Math.Log(2)) < 0.05, step.ToString());
        Assert.Equal(Metric(step, "rewards/margins"), Metric(step, "rewards/chosen") - Metric(step, "rewards/rejected"), 5);
    }

    [Fact]
    public void GradientAccumulation_TwoByTwoPairs_EqualsOneBatchOfFour()
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(16);
        // SGD: the update is linear in the gradient, so padding-order fp32 noise (~1e-7) stays that small; Adam would turn
        // the noise of near-zero gradients of a full model into +-lr steps.
        string[] sgd = ["train.max_steps=3", "optimizer.name=sgd", "optimizer.lr=0.5"];
        var split = Reward(h, "full", data, "split", ["train.micro_batch_size=2", "train.grad_accum=2", .. sgd]);
        var whole = Reward(h, "full", data, "whole", ["train.micro_batch_size=4", "train.grad_accum=1", .. sgd]);
        h.RunLogged(split);
        h.RunLogged(whole);
        var a = TrainHarness.Records(split.Output.Dir, "step");
        var b = TrainHarness.Records(whole.Output.Dir, "step");
        // Step 1 sees the same weights: equal to fp32 rounding. Later steps carry the rounding of earlier updates (lr 0.5).
        for (int i = 0; i < 3; i++)
            foreach (string name in new[] { "loss", "rewards/margins", "rewards/chosen" })
                Assert.True(Math.Abs(Metric(a[i], name) - Metric(b[i], name)) <= (i == 0 ? 1e-6 : 1e-4) * Math.Max(1, Math.Abs(Metric(b[i], name))),
                    $"step {i + 1} {name}: {Metric(a[i], name)} vs {Metric(b[i], name)}");
        Assert.NotEqual(Metric(b[0], "loss"), Metric(b[2], "loss")); // the steps moved the model
        var w1 = TrainHarness.CheckpointWeights(split.Output.Dir);
        var w2 = TrainHarness.CheckpointWeights(whole.Output.Dir);
        Assert.Contains("score.weight", w1.Keys);
        foreach (var (name, t) in w1)
            Assert.True(t.allclose(w2[name], rtol: 0, atol: 2e-5), $"{name}: max diff {(t - w2[name]).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("full")]
    public void StoppedAndResumed_EqualsUninterrupted_HeadIncluded(string method)
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(24);
        string[] extra = ["train.max_steps=6", .. method == "lora" ? ["method.lora.dropout=0.2"] : Array.Empty<string>()];
        var reference = Reward(h, method, data, "reference", extra);
        h.RunLogged(reference);
        var interrupted = Reward(h, method, data, "stopped", extra);
        Assert.Equal("interrupted", h.RunLogged(interrupted, stopAt: 3).Status);
        Assert.Equal("completed", h.RunLogged(interrupted).Status);
        var expected = TrainHarness.StepLosses(reference.Output.Dir);
        var actual = TrainHarness.StepLosses(interrupted.Output.Dir);
        Assert.Equal(6, actual.Count);
        for (int i = 0; i < 6; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"step {i + 1}: {expected[i]} vs {actual[i]}");
        var w1 = TrainHarness.CheckpointWeights(reference.Output.Dir);
        var w2 = TrainHarness.CheckpointWeights(interrupted.Output.Dir);
        Assert.Contains("score.weight", w1.Keys);
        foreach (var (name, t) in w1) Assert.True(t.equal(w2[name]).all().item<bool>(), name);
    }

    [Fact]
    public void ToyTask_HeldOutPairwiseAccuracy_RisesToAtLeast0_9()
    {
        // Chosen stories end "was very happy", rejected "was very sad"; held-out pairs are unseen prompt/length mixes.
        using var h = new TrainHarness();
        var cfg = Reward(h, "full", h.WritePreferenceData(48), "out", "data.val_size=0.25", "train.max_steps=12", "eval.every_steps=12",
            "optimizer.lr=3.0e-3");
        h.RunLogged(cfg);
        var evals = TrainHarness.Records(cfg.Output.Dir, "eval");
        Assert.Equal([0L, 12L], evals.Select(e => e.GetProperty("step").GetInt64()));
        double before = Metric(evals[0], "eval_rewards/accuracies"), after = Metric(evals[^1], "eval_rewards/accuracies");
        Assert.True(after >= 0.9, $"held-out pairwise accuracy {before} -> {after}");
        Assert.True(Metric(evals[^1], "eval_rewards/margins") > Metric(evals[0], "eval_rewards/margins"), evals[^1].ToString());
        Assert.True(Metric(evals[^1], "loss") < Metric(evals[0], "loss"), evals[^1].ToString());
    }

    [Fact]
    public void FullRun_SavesTheSequenceClassifierLayout_ThatLoadsBack()
    {
        using var h = new TrainHarness();
        var cfg = Reward(h, "full", h.WritePreferenceData(8), "out", "train.max_steps=2");
        h.RunLogged(cfg);
        string dir = Path.Combine(cfg.Output.Dir, "model");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        Assert.Equal("LlamaForSequenceClassification", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(1, config["num_labels"]!.GetValue<int>());
        Assert.Equal("LABEL_0", config["id2label"]!["0"]!.GetValue<string>());
        Assert.Equal(0, config["label2id"]!["LABEL_0"]!.GetValue<int>());
        Assert.Equal(2, config["pad_token_id"]!.GetValue<int>()); // stories260K has no pad token: EOS
        using (var file = SafeTensorsCheckpoint.Open(dir))
        {
            Assert.Contains("score.weight", file.Names);
            Assert.Contains("model.embed_tokens.weight", file.Names);
            Assert.DoesNotContain(file.Names, n => n.StartsWith("lm_head", StringComparison.Ordinal));
            Assert.Equal([1L, 64L], file.Info("score.weight").Shape);
        }
        AssertLoadsAsTrained(cfg, () => RewardModelFiles.Load(dir, null));
    }

    [Fact]
    public void AdapterRun_SavesASeqClsAdapter_WithTheHeadInModulesToSave_ThatLoadsBack()
    {
        using var h = new TrainHarness();
        var cfg = Reward(h, "lora", h.WritePreferenceData(8), "out", "train.max_steps=2", "optimizer.lr=1.0e-2");
        h.RunLogged(cfg);
        string dir = Path.Combine(cfg.Output.Dir, "adapter");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!.AsObject();
        Assert.Equal("SEQ_CLS", config["task_type"]!.GetValue<string>());
        Assert.Equal(["score"], config["modules_to_save"]!.AsArray().Select(n => n!.GetValue<string>()));
        using (var file = SafeTensorsCheckpoint.Open(Path.Combine(dir, "adapter_model.safetensors")))
        {
            // PEFT drops "modules_to_save.default" from a saved module's key: base_model.model.score.weight.
            Assert.Contains("base_model.model.score.weight", file.Names);
            Assert.Contains(file.Names, n => n.EndsWith(".lora_A.weight", StringComparison.Ordinal));
        }
        AssertLoadsAsTrained(cfg, () => RewardModelFiles.Load(TrainHarness.ModelDir, dir));
    }

    /// <summary>Every trained weight of the loaded model (the head included) equals the run's final checkpoint, and
    /// pooling looks for the run's pad id.</summary>
    static void AssertLoadsAsTrained(TrainConfig cfg, Func<RewardModelBundle> load)
    {
        var trained = TrainHarness.CheckpointWeights(cfg.Output.Dir);
        using var bundle = load();
        var head = bundle.Model.ScoreHead!.Weight;
        Assert.True(head.equal(trained["score.weight"]).all().item<bool>(), "score.weight differs from the trained head");
        foreach (var (name, p) in bundle.Model.named_parameters())
            if (trained.TryGetValue(name, out var t))
                Assert.True(p.detach().to(t.dtype).equal(t).all().item<bool>(), $"{name} differs from the trained weight");
        Assert.Equal(2, bundle.PadId);
    }

    [Fact]
    public void ChatData_IsRefusedNamingFileLineAndStage()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(6);
        var ex = Assert.Throws<DataValidationException>(() => h.RunLogged(Reward(h, "lora", data, "out")));
        Assert.Contains($"{data}:1: method.stage reward needs preference pairs", ex.Message);
    }

    [Fact]
    public void RewardSteps_AndEvaluation_LeakNoTensors()
    {
        using var h = new TrainHarness();
        var cfg = Reward(h, "lora", h.WritePreferenceData(4), "out", "method.lora.dropout=0.1", "train.micro_batch_size=2",
            "method.reward.center_rewards_coefficient=0.01");
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        model.Model.AddScoreHead(seed: 7).Weight.requires_grad = true;
        var data = PairDataSetup.Prepare(cfg, model.Tokenizer, TrainHarness.ModelDir, TuneSharp.Data.Encoding.PromptTruncation.KeepEnd, TestContext.Current.CancellationToken);
        var batches = data.Train.Chunk(2).Select(c => PairDataSetup.Collate(c, padId: 2)).ToList();
        var objective = new RewardObjective(cfg.Method.Reward, padId: 2);
        using var optimizer = OptimizerSetup.Build(cfg, model);
        var driver = new StepDriver(model.Trainable, optimizer, OptimizerSetup.Schedule(cfg.Schedule), cfg.Optimizer.Lr, 1.0, 10);
        var heldOut = new HeldOutObjective(batches, maxBatches: null);
        model.Model.train();
        long step = 0;
        long growth = LiveTensors.GrowthOver(3, () =>
        {
            var r = driver.Step(step++, batches, PairScores.Pairs, b => objective.Loss(model.Model, b));
            Assert.True(double.IsFinite(r.Loss) && r.Metrics.ContainsKey("rewards/accuracies"), $"{r.Loss}");
            heldOut.Evaluate(model.Model, PairScores.Pairs, b => objective.Loss(model.Model, b, prefix: "eval_"));
        });
        Assert.Equal(0, growth);
    }
}
