using System.Text.Json;
using TuneSharp.Testing;
using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// DPO with <c>precompute_ref_log_probs</c>: the reference log-probs computed once before training
/// (<see cref="ReferencePrecompute"/>), cached beside the tokenized data, carried by the batches. Training follows the
/// run with a reference pass per step; a full run holds no reference copy while it trains. Exact resume is a row of
/// <see cref="ExactResumeTests"/>.
/// </summary>
[Collection("training")]
public sealed class DpoPrecomputeTests
{
    static double Metric(JsonElement record, string name) => record.GetProperty(name).GetDouble();

    /// <summary>The same run with and without precomputation. The reference numbers are the same up to float rounding:
    /// precomputed in data order, per step in the shuffled step's batch composition (another padding length and matmul
    /// shape), ~1e-6 relative in fp32. SGD so the weights follow the gradients linearly.</summary>
    [Theory]
    [InlineData("lora")]
    [InlineData("full")]
    [InlineData("dora")]
    public void PrecomputedRun_TrainsLikeTheReferencePassPerStep(string method)
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(24);
        string[] common = ["train.max_steps=3", "data.val_size=0.25", "eval.every_steps=3", "optimizer.name=sgd", "optimizer.lr=0.1", "model.dtype=fp32"];
        var perStep = PairRecipeTests.Pairs(h, "dpo", method, data, "per-step", common);
        var precomputed = PairRecipeTests.Pairs(h, "dpo", method, data, "precomputed", [.. common, "method.dpo.precompute_ref_log_probs=true"]);
        var log = new StringWriter();
        h.RunLogged(perStep);
        Assert.Equal("completed", h.RunLogged(precomputed, log: log).Status);

        foreach (string type in new[] { "step", "eval" })
        {
            var a = TrainHarness.Records(perStep.Output.Dir, type);
            var b = TrainHarness.Records(precomputed.Output.Dir, type);
            Assert.Equal(type == "step" ? 3 : 2, b.Count);
            string prefix = type == "eval" ? "eval_" : "";
            for (int i = 0; i < a.Count; i++)
                foreach (string name in new[] { "loss", prefix + "rewards/margins", prefix + "rewards/chosen", prefix + "logps/rejected" })
                    Assert.True(Math.Abs(Metric(a[i], name) - Metric(b[i], name)) <= 1e-5 * Math.Max(1, Math.Abs(Metric(a[i], name))),
                        $"{type} {i} {name}: {Metric(a[i], name)} vs {Metric(b[i], name)}");
        }
        var first = TrainHarness.Records(precomputed.Output.Dir, "step")[0];
        Assert.True(Math.Abs(Metric(first, "loss") - Math.Log(2)) <= 1e-5, first.ToString()); // policy == reference at step 1
        Assert.NotEqual(Metric(first, "logps/chosen"), Metric(TrainHarness.Records(precomputed.Output.Dir, "step")[2], "logps/chosen"));
    }

    [Fact]
    public void FullRun_EstimatesAReferenceCopyOnlyWithoutPrecomputation()
    {
        using var h = new TrainHarness();
        string data = h.WritePreferenceData(2);
        TrainConfig Cfg(string method, params string[] o) => h.Config(h.Yaml(method, data), o);
        Assert.True(Cfg("full", "method.stage=dpo").Method.HoldsReferenceCopy);
        Assert.False(Cfg("full", "method.stage=dpo", "method.dpo.precompute_ref_log_probs=true").Method.HoldsReferenceCopy);
        Assert.False(Cfg("lora", "method.stage=dpo").Method.HoldsReferenceCopy);
        Assert.True(Cfg("freeze", "method.stage=kto", "method.freeze.trainable_layers=[-1]").Method.HoldsReferenceCopy);
        Assert.False(Cfg("full", "method.stage=orpo").Method.HoldsReferenceCopy);

        // The analytic breakdown lists the copy: one more set of the base weights.
        var args = Tests.Estimates.EstimatorArithmeticTests.Args();
        var input = new MemoryEstimateInput { Model = args, DTypeBytes = 4, TrainableParameters = 1000, AdapterTraining = false, MicroBatch = 2, SeqLen = 64 };
        var without = MemoryEstimator.Estimate(input);
        var with = MemoryEstimator.Estimate(input with { ReferenceCopy = true });
        Assert.Equal(ParameterCount.Of(args).Total * 4.0, with.Reference);
        Assert.Equal(without.Total + with.Reference, with.Total, 1e-6);
        Assert.Contains("reference copy", with.Breakdown());
        Assert.DoesNotContain("reference copy", without.Breakdown());
    }

    [Fact]
    public void Attach_ComputesOnce_ThenReadsTheCache_AndRecomputesACorruptFile()
    {
        using var h = new TrainHarness();
        var cfg = PairRecipeTests.Pairs(h, "dpo", "lora", h.WritePreferenceData(10), "out", "data.val_size=0.2", "train.micro_batch_size=3");
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        var ct = TestContext.Current.CancellationToken;
        var data = PairDataSetup.Prepare(cfg, model.Tokenizer, TrainHarness.ModelDir, Data.Encoding.PromptTruncation.KeepEnd, ct);
        string cacheDir = Path.Combine(h.Dir, "cache");
        int created = 0;
        IReferencePolicy Source() { created++; return new AdaptersOffReference(); }

        var computed = ReferencePrecompute.Attach(data, model, cfg, Source, ct, cacheDir);
        Assert.Equal(1, created);
        Assert.Contains(computed.Notes, n => n.Contains("reference log-probs of 10 pair(s) precomputed"));
        Assert.Equal(8, computed.Train.Count);
        Assert.All([.. computed.Train, .. computed.Validation], p => Assert.NotNull(p.Reference));

        // Each value is the reference model's summed log-prob of that completion (here: one pair alone per forward).
        using (no_grad())
        using (model.Model.AdaptersDisabled())
            foreach (var pair in new[] { computed.Train[0], computed.Validation[^1] })
            {
                var t = BatchTensors.Of(PairDataSetup.Collate([pair with { Reference = null }], padId: 0), model.Device);
                var alone = PairScores.Of(model.Model, t);
                Assert.Equal(alone.ChosenSum.item<float>(), pair.Reference!.Value.Chosen, 1e-4);
                Assert.Equal(alone.RejectedSum.item<float>(), pair.Reference!.Value.Rejected, 1e-4);
            }

        // The batches carry them: chosen rows first, then rejected rows.
        var batch = PairDataSetup.Collate(computed.Train.Take(2).ToList(), padId: 0);
        Assert.Equal([computed.Train[0].Reference!.Value.Chosen, computed.Train[1].Reference!.Value.Chosen,
            computed.Train[0].Reference!.Value.Rejected, computed.Train[1].Reference!.Value.Rejected], batch.ReferenceLogProbs!);

        var cached = ReferencePrecompute.Attach(data, model, cfg, Source, ct, cacheDir);
        Assert.Equal(1, created); // no reference was built
        Assert.Contains(cached.Notes, n => n.Contains("loaded from the cache"));
        Assert.Equal(computed.Train.Select(p => p.Reference), cached.Train.Select(p => p.Reference));

        string file = Directory.GetFiles(cacheDir, "*.tsrl").Single();
        var bytes = File.ReadAllBytes(file);
        bytes[20] ^= 0x40;
        File.WriteAllBytes(file, bytes);
        var again = ReferencePrecompute.Attach(data, model, cfg, Source, ct, cacheDir);
        Assert.Equal(2, created); // the corrupt file was ignored and rewritten
        Assert.Equal(computed.Validation.Select(p => p.Reference), again.Validation.Select(p => p.Reference));

        // Another batch size is another key (values computed again, not mixed up).
        ReferencePrecompute.Attach(data, model, cfg with { Train = cfg.Train with { MicroBatchSize = 2 } }, Source, ct, cacheDir);
        Assert.Equal(3, created);
        Assert.Equal(2, Directory.GetFiles(cacheDir, "*.tsrl").Length);
    }

    [Fact]
    public void PrecomputeAndSteps_LeakNoTensors()
    {
        using var h = new TrainHarness();
        var cfg = PairRecipeTests.Pairs(h, "dpo", "lora", h.WritePreferenceData(4), "out", "train.micro_batch_size=2", "method.lora.dropout=0.1",
            "method.dpo.precompute_ref_log_probs=true");
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        var ct = TestContext.Current.CancellationToken;
        var data = PairDataSetup.Prepare(cfg, model.Tokenizer, TrainHarness.ModelDir, Data.Encoding.PromptTruncation.KeepEnd, ct);
        using var objective = new DpoObjective(cfg.Method.Dpo, IReferencePolicy.For(model, precompute: true));
        using var optimizer = OptimizerSetup.Build(cfg, model);
        var driver = new StepDriver(model.Trainable, optimizer, OptimizerSetup.Schedule(cfg.Schedule), cfg.Optimizer.Lr, 1.0, 10);
        string cacheDir = Path.Combine(h.Dir, "cache");
        model.Model.train();
        long step = 0;
        long growth = LiveTensors.GrowthOver(3, () =>
        {
            var prepared = ReferencePrecompute.Attach(data, model, cfg, () => new AdaptersOffReference(), ct, Path.Combine(cacheDir, $"{step}"));
            var batches = prepared.Train.Chunk(2).Select(c => PairDataSetup.Collate(c, padId: 0)).ToList();
            Assert.All(batches, b => Assert.NotNull(b.ReferenceLogProbs));
            var r = driver.Step(step++, batches, PairScores.Pairs, b => objective.Loss(model.Model, b));
            Assert.True(double.IsFinite(r.Loss), $"{r.Loss}");
        });
        Assert.Equal(0, growth);
    }

    [Fact]
    public void ABatchWithoutPrecomputedValues_IsAClearError()
    {
        using var h = new TrainHarness();
        var cfg = PairRecipeTests.Pairs(h, "dpo", "lora", h.WritePreferenceData(4), "out", "method.dpo.precompute_ref_log_probs=true");
        using var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        var data = PairDataSetup.Prepare(cfg, model.Tokenizer, TrainHarness.ModelDir, Data.Encoding.PromptTruncation.KeepEnd, TestContext.Current.CancellationToken);
        using var objective = new DpoObjective(cfg.Method.Dpo, IReferencePolicy.For(model, precompute: true));
        var ex = Assert.Throws<InvalidOperationException>(() => objective.Loss(model.Model, PairDataSetup.Collate(data.Train.Take(2).ToList(), padId: 0)));
        Assert.Contains("precomputed", ex.Message);
    }
}
