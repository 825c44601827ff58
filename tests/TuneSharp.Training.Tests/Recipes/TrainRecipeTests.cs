using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>End-to-end training runs on the real stories260K checkpoint (fp32, a few steps each).</summary>
[Collection("training")] // runs share CPU threads; one at a time keeps them fast and deterministic
public class TrainRecipeTests
{
    [Fact]
    public void GradientAccumulation_EqualsOneLargeBatch()
    {
        // One optimizer step over the same 8 samples: 8x1, 4x2 and 2x4 (micro batch x accumulation). AdamW's first step
        // is ~lr * sign(g), which amplifies rounding noise in near-zero gradients; lr = 1 and eps = 1 make the update
        // g / (|g| + 1) ~ g, so the weight difference measures the gradient difference. Tolerance: |dW| <= 5e-7 + 2e-7 |W|: fp32 sums over
        // tokens in a different grouping differ by ~1e-7, plus one ulp of the weights themselves. The 2024 GA bug (mean
        // per micro-batch) changes these weights by orders of magnitude more (loss differs by ~1e-2).
        var results = new List<Dictionary<string, Tensor>>();
        var losses = new List<double>();
        foreach (var (mb, ga) in new[] { (8, 1), (4, 2), (2, 4) })
        {
            using var h = new TrainHarness();
            string data = h.WriteChatData(8);
            var cfg = h.Config(h.Yaml("full", data), "train.max_steps=1", $"train.micro_batch_size={mb}", $"train.grad_accum={ga}",
                "train.max_grad_norm=null", "optimizer.eps=1.0", "optimizer.lr=1.0");
            var summary = h.Run(cfg);
            losses.Add(summary.FinalLoss!.Value);
            results.Add(TrainHarness.CheckpointWeights(cfg.Output.Dir));
        }
        // Tolerance 1e-6: the same sums in a different order (fp32).
        Assert.Equal(losses[0], losses[1], 1e-6);
        Assert.Equal(losses[0], losses[2], 1e-6);
        foreach (var other in results.Skip(1))
            foreach (var (name, t) in results[0])
            {
                double diff = (other[name] - t).abs().max().item<float>();
                Assert.True(other[name].allclose(t, rtol: 2e-7, atol: 5e-7), $"{name}: max abs diff {diff:E2}");
            }
    }

    [Fact]
    public void Lora_TrainsOnlyAdapters_LeavesBaseIntact_AndSavesALoadablePeftAdapter()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        var cfg = h.Config(h.Yaml("lora", data), "method.lora.r=4", "method.lora.targets=all-linear", "train.max_steps=4");
        var summary = h.Run(cfg);
        Assert.Equal("completed", summary.Status);

        var weights = TrainHarness.CheckpointWeights(cfg.Output.Dir);
        Assert.NotEmpty(weights);
        Assert.All(weights.Keys, k => Assert.True(AdapterModel.IsAdapterParameter(k), k));
        // Adapters moved away from their init (B = 0).
        Assert.Contains(weights, kv => kv.Key.EndsWith("lora_B.weight", StringComparison.Ordinal) && kv.Value.abs().max().item<float>() > 0);

        string adapterDir = Path.Combine(cfg.Output.Dir, "adapter");
        Assert.True(File.Exists(Path.Combine(adapterDir, "adapter_config.json")));
        using var loaded = AdapterIO.Load(adapterDir, TrainHarness.ModelDir);
        using var baseModel = ModelLoader.Load(TrainHarness.ModelDir);
        using var scope = NewDisposeScope();
        // The base weights inside the adapted model equal the checkpoint's (frozen).
        var baseParams = baseModel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in loaded.Model.named_parameters().Where(p => !AdapterModel.IsAdapterParameter(p.name)))
            Assert.True(p.equal(baseParams[name]).all().item<bool>(), name);
        // The loaded adapter reproduces the trained adapter's weights exactly.
        var loadedParams = loaded.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, t) in weights)
            Assert.True(loadedParams[name].equal(t).all().item<bool>(), name);
    }

    [Fact]
    public void Lora_WithModulesToSave_TrainsTheEmbedding_AndSavesItInTheAdapter()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("lora", data), "method.lora.modules_to_save=[embed_tokens]", "train.max_steps=2");
        h.Run(cfg);
        var weights = TrainHarness.CheckpointWeights(cfg.Output.Dir);
        Assert.Contains("model.embed_tokens.weight", weights.Keys);
        using var baseModel = ModelLoader.Load(TrainHarness.ModelDir);
        Assert.False(baseModel.Model.EmbedTokens.Weight.equal(weights["model.embed_tokens.weight"]).all().item<bool>(), "the embedding trained");

        using var loaded = AdapterIO.Load(Path.Combine(cfg.Output.Dir, "adapter"), TrainHarness.ModelDir);
        Assert.True(loaded.Model.Model.EmbedTokens.Weight.equal(weights["model.embed_tokens.weight"]).all().item<bool>());
    }

    [Fact]
    public void Full_SavesAnHfCheckpoint_ThatLoadsBackBitExact()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("full", data), "train.max_steps=2");
        h.Run(cfg);
        var trained = TrainHarness.CheckpointWeights(cfg.Output.Dir);
        string modelDir = Path.Combine(cfg.Output.Dir, "model");
        foreach (var f in new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.True(File.Exists(Path.Combine(modelDir, f)), f);
        using var reloaded = ModelLoader.Load(modelDir);
        foreach (var (name, p) in reloaded.named_parameters())
            Assert.True(p.equal(trained[name]).all().item<bool>(), name);
        using var original = ModelLoader.Load(TrainHarness.ModelDir);
        Assert.False(original.named_parameters().First().parameter.equal(trained[original.named_parameters().First().name]).all().item<bool>());
    }

    [Fact]
    public void Freeze_TrainsOnlyTheChosenLayers()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("freeze", data), "method.freeze.trainable_layers=[-1]", "train.max_steps=1");
        h.Run(cfg);
        var weights = TrainHarness.CheckpointWeights(cfg.Output.Dir);
        Assert.NotEmpty(weights);
        Assert.All(weights.Keys, k => Assert.StartsWith("model.layers.4.", k));
    }

    [Fact]
    public void ResumedRun_ContinuesTheSameLossCurve()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(24);
        string yaml = h.Yaml("lora", data);
        var full = h.Config(yaml, "train.max_steps=6", $"output.dir={Path.Combine(h.Dir, "a")}");
        h.Run(full);
        var expected = TrainHarness.StepLosses(full.Output.Dir);

        var firstHalf = h.Config(yaml, "train.max_steps=3", $"output.dir={Path.Combine(h.Dir, "b")}");
        h.Run(firstHalf);
        var resumed = h.Config(yaml, "train.max_steps=6", $"output.dir={Path.Combine(h.Dir, "b")}");
        h.Run(resumed, resume: true); // a longer run continues only when asked (--resume)
        var actual = TrainHarness.StepLosses(resumed.Output.Dir);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i], 1e-6);
    }

    [Fact]
    public void Bf16_LoraKeepsFp32Adapters_FullKeepsFp32MasterWeights_AndLossFalls()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(32);
        var lora = h.Config(h.Yaml("lora", data), "model.dtype=bf16", "train.max_steps=8", "method.lora.targets=all-linear",
            $"output.dir={Path.Combine(h.Dir, "lora")}");
        h.Run(lora);
        var losses = TrainHarness.StepLosses(lora.Output.Dir);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses[^1] < losses[0], $"loss {losses[0]} -> {losses[^1]}");
        Assert.All(TrainHarness.CheckpointWeights(lora.Output.Dir).Values, t => Assert.Equal(ScalarType.Float32, t.dtype));

        var full = h.Config(h.Yaml("full", data), "model.dtype=bf16", "train.max_steps=2", $"output.dir={Path.Combine(h.Dir, "full")}");
        h.Run(full);
        Assert.All(TrainHarness.CheckpointWeights(full.Output.Dir).Values, t => Assert.Equal(ScalarType.BFloat16, t.dtype));
        string latest = Checkpoints.CheckpointStore.Latest(full.Output.Dir)!;
        using var opt = SafeTensorsFile.Open(Path.Combine(latest, "optimizer.safetensors"));
        var masters = opt.Tensors.Keys.Where(k => k.EndsWith(".master", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(masters);
        Assert.All(masters, k => Assert.Equal(SafeDType.F32, opt.Tensors[k].DType));
    }

    [Fact]
    public void EarlyStopping_StopsWhenTheEvalLossStopsImproving()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        // lr 1e-30: updates far below fp32 resolution leave every output bit-identical, so the eval loss never improves
        // after the first evaluation and patience 1 stops at the second.
        var cfg = h.Config(h.Yaml("lora", data), "optimizer.lr=1e-30", "train.max_steps=10", "data.val_size=0.25",
            "eval.every_steps=1", "eval.early_stopping_patience=1");
        var summary = h.Run(cfg);
        Assert.Equal("early_stopped", summary.Status);
        Assert.Equal(2, summary.Steps);
        Assert.Equal(1, summary.BestStep);
        Assert.True(File.Exists(Path.Combine(cfg.Output.Dir, "adapter", "adapter_config.json")));
    }

    [Fact]
    public void ModelAdapter_ContinuesFromASavedPeftAdapter()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(24);
        var first = h.Config(h.Yaml("lora", data), "method.lora.r=4", "method.lora.targets=[q_proj, v_proj]", "data.val_size=0.25",
            "train.max_steps=4", $"output.dir={Path.Combine(h.Dir, "first")}");
        var s1 = h.Run(first);
        string adapter = Path.Combine(first.Output.Dir, "adapter");

        // The second run's method.lora differs on purpose: adapter_config.json decides. lr 1e-30 keeps weights bit-identical.
        var second = h.Config(h.Yaml("lora", data), $"model.adapter={adapter}", "method.lora.r=8", "data.val_size=0.25",
            "optimizer.lr=1e-30", "train.max_steps=1", $"output.dir={Path.Combine(h.Dir, "second")}");
        var s2 = h.Run(second);
        Assert.Equal(s1.EvalLossAfter!.Value, s2.EvalLossBefore!.Value, 1e-9); // it starts where the first run ended
        var w1 = TrainHarness.CheckpointWeights(first.Output.Dir);
        var w2 = TrainHarness.CheckpointWeights(second.Output.Dir);
        Assert.Equal(w1.Keys.Order(), w2.Keys.Order());
        foreach (var (name, t) in w1) Assert.True(t.equal(w2[name]).all().item<bool>(), name);
    }

    [Fact]
    public void MicroBatchLargerThanTheData_IsAClearError()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(3);
        var cfg = h.Config(h.Yaml("lora", data), "train.micro_batch_size=8");
        var ex = Assert.Throws<ArgumentException>(() => h.Run(cfg));
        Assert.Contains("micro_batch_size (8)", ex.Message);
    }

    [Fact]
    public void OutputDirInUseByAnotherRun_IsRefused()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("lora", data));
        Directory.CreateDirectory(cfg.Output.Dir);
        using var other = OutputLock.Acquire(cfg.Output.Dir);
        var ex = Assert.Throws<InvalidOperationException>(() => h.Run(cfg));
        Assert.Contains("in use by another training run", ex.Message);
    }

    [Fact]
    public void BadDataset_FailsBeforeTraining_NamingFileAndLine()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        File.AppendAllText(data, "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}\n");
        var cfg = h.Config(h.Yaml("lora", data));
        var ex = Assert.Throws<Setup.DataValidationException>(() => h.Run(cfg));
        Assert.Contains("train.jsonl:9", ex.Message);
        Assert.Contains("unrecognized_role", ex.Message);
        Assert.False(Directory.Exists(Checkpoints.CheckpointStore.Root(cfg.Output.Dir)));
    }
}
