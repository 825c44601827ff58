using TuneSharp.Testing;
using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>Every config in examples/ runs as shipped (its data files exist and bind), for one step, on the local
/// stories260K model instead of the hub model it names.</summary>
[Collection("training")]
public sealed class ExampleConfigsTests
{
    public static TheoryData<string> Examples() =>
        [.. Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "examples"), "*.yaml").Select(f => Path.GetFileName(f)!).Order()];

    [Fact]
    public void TheExamplesFolder_HoldsTheDocumentedConfigs() =>
        Assert.Equal(["dora.yaml", "dpo.yaml", "freeze.yaml", "full.yaml", "kto.yaml", "lora.yaml", "orpo.yaml", "pretrain.yaml", "qlora.yaml", "quickstart.yaml", "reward.yaml", "simpo.yaml"], Examples().Select(e => e.Data));

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleConfig_TrainsOneStep_OnStories260K(string name)
    {
        using var h = new TrainHarness();
        string path = Path.Combine(Fixtures.RepoRoot, "examples", name);
        var cfg = ConfigLoader.Load(path, [$"model.path={TrainHarness.ModelDir}", "train.max_steps=1", "train.epochs=null", "schedule.warmup_steps=null",
            $"output.dir={Path.Combine(h.Dir, "out")}", "logging.progress=none", "logging.tensorboard=false", "logging.plot=false",
            "eval.max_batches=1", "eval.samples=[]", "eval.benchmark_limit=3"]); // the default forgetting check, on 3 items per task
        foreach (var d in cfg.Data.Datasets) Assert.True(File.Exists(d.Path), $"{name}: {d.Path} is not in the repository");
        var summary = h.Run(cfg);
        Assert.Equal(1, summary.Steps);
        Assert.True(double.IsFinite(summary.FinalLoss!.Value), $"{name}: loss {summary.FinalLoss}");
    }
}
