using System.Text.Json;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Testing;
using TuneSharp.Training.Observers;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>The next-token recipe's outputs and reports beyond the loss: merged models, validation of a corpus, the
/// before-training baseline, no leaked tensors.</summary>
[Collection("training")]
public sealed class NextTokenRecipeTests
{
    [Fact]
    public void SaveMerged_WritesAnHfModel_EqualToTheMergedAdapter()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var cfg = h.Config(h.Yaml("lora", data), "train.max_steps=2", "output.save_merged=true", "method.lora.targets=all-linear");
        h.Run(cfg);
        string mergedDir = Path.Combine(cfg.Output.Dir, "merged");
        foreach (var f in new[] { "config.json", "tokenizer.json", "model.safetensors" }) Assert.True(File.Exists(Path.Combine(mergedDir, f)), f);
        using var merged = ModelLoader.Load(mergedDir);
        using var adapted = AdapterIO.Load(Path.Combine(cfg.Output.Dir, "adapter"), TrainHarness.ModelDir);
        using var expected = AdapterMerge.Merge(adapted.Model);
        var want = expected.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in merged.named_parameters()) Assert.True(p.equal(want[name]).all().item<bool>(), name);
        // The merge moved the weights: the trained adapter is in it.
        using var original = ModelLoader.Load(TrainHarness.ModelDir);
        Assert.False(original.named_parameters().Where(p => p.name.EndsWith("q_proj.weight", StringComparison.Ordinal))
            .All(p => p.parameter.equal(want[p.name]).all().item<bool>()));
    }

    [Fact]
    public void Pretraining_ValSizeOnOneCorpusFile_HoldsOutWindows_AndEvaluates()
    {
        using var h = new TrainHarness();
        string corpus = h.WriteText(20_000);
        var cfg = h.Config(h.Yaml("lora", corpus, chatTemplate: false), "method.stage=pretrain", "data.val_size=0.1", "train.max_steps=2");
        var info = new InfoRecorder();
        var summary = h.Run(cfg, info);
        Assert.True(info.Info!.ValidationExamples > 0, "no validation window");
        Assert.NotNull(summary.EvalLossBefore);
        Assert.NotNull(summary.EvalLossAfter);
        Assert.Contains(info.Info.Notes, n => n.StartsWith("validation:", StringComparison.Ordinal) && n.Contains("token windows held out"));
        Assert.DoesNotContain(info.Info.Notes, n => n.Contains("chat_template") || n.Contains("chatml"));
        Assert.Contains("template: none (raw text)", info.Info.Notes);
    }

    [Fact]
    public void BaselineEvalAndSamples_AreReportedBeforeTheFirstStep()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        var cfg = h.Config(h.Yaml("lora", data), "train.max_steps=2", "data.val_size=0.25", "eval.samples=[\"Tell me a story.\"]");
        h.RunLogged(cfg);
        var records = File.ReadLines(Path.Combine(cfg.Output.Dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (Type: e.GetProperty("type").GetString(), Step: e.GetProperty("step").GetInt64())).ToList();
        int firstStep = records.FindIndex(r => r.Type == "step");
        Assert.True(records.FindIndex(r => r is ("eval", 0)) is >= 0 and var e && e < firstStep, "no baseline eval before step 1");
        Assert.True(records.FindIndex(r => r is ("samples", 0)) is >= 0 and var s && s < firstStep, "no samples before step 1");
        Assert.Contains(("samples", 2L), records);
    }

    [Fact]
    public void AWholeRun_LeavesNoLiveTensors()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        // Every part once: baseline and periodic eval, samples, checkpoints, final outputs, a resume.
        string[] overrides = ["train.max_steps=3", "data.val_size=0.25", "eval.every_steps=1", "eval.samples=[\"Hi\"]", "output.save_every_steps=1"];
        h.RunLogged(h.Config(h.Yaml("lora", data), overrides), stopAt: 1);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = LiveTensors.Count;
        h.RunLogged(h.Config(h.Yaml("lora", data), overrides));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, LiveTensors.Count);
    }

    sealed class InfoRecorder : ITrainingObserver
    {
        public RunInfo? Info { get; private set; }
        public void OnStart(RunInfo info) => Info = info;
        public void OnStep(StepMetrics metrics) { }
        public void OnEval(EvalMetrics metrics) { }
        public void OnCheckpoint(long step, string path) { }
        public void OnEnd(RunSummary summary) { }
        public void Dispose() { }
    }
}
