using System.Text.Json;
using TuneSharp.Training.Observers;
using Xunit;
using static TuneSharp.Training.Tests.Observers.ObserverTestData;

namespace TuneSharp.Training.Tests.Observers;

/// <summary>Named metrics reach every observer without per-metric code.</summary>
public sealed class NamedMetricsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-named-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly Dictionary<string, double> StepValues = new() { ["rewards/accuracies"] = 0.75, ["kl"] = 0.0123 };
    static readonly Dictionary<string, double> EvalValues = new() { ["rewards/margins"] = 1.5 };

    static StepMetrics NamedStep(long s) => Step(s) with { Metrics = StepValues };
    static EvalMetrics NamedEval(long s) => EvalAt(s, 2.5) with { Metrics = EvalValues };

    [Fact]
    public void Jsonl_WritesEachNamedMetricAsAField()
    {
        string path = Path.Combine(_dir, "metrics.jsonl");
        using (var o = new JsonlMetricsObserver(path, new FakeClock()))
        {
            o.OnStart(Info());
            o.OnStep(NamedStep(1));
            o.OnEval(NamedEval(1));
        }
        var lines = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var step = lines.Single(l => l.GetProperty("type").GetString() == "step");
        Assert.Equal(0.75, step.GetProperty("rewards/accuracies").GetDouble());
        Assert.Equal(0.0123, step.GetProperty("kl").GetDouble());
        var eval = lines.Single(l => l.GetProperty("type").GetString() == "eval");
        Assert.Equal(1.5, eval.GetProperty("rewards/margins").GetDouble());
        // Read back for plots: the named values and the loss, not the counters.
        var records = MetricsFile.Read(path).ToList();
        Assert.Equal(["kl", "loss", "lr", "rewards/accuracies"], records[0].Values.Keys.Order());
    }

    [Fact]
    public void TensorBoard_WritesTrainAndEvalTagsByName()
    {
        using (var o = new TensorBoardObserver(_dir, new FakeClock()))
        {
            o.OnStart(Info());
            o.OnStep(NamedStep(1));
            o.OnEval(NamedEval(1));
        }
        var file = Assert.Single(Directory.GetFiles(_dir, "events.out.tfevents.*"));
        var (scalars, _) = TensorBoardObserverTests.ReadScalars(File.ReadAllBytes(file));
        Assert.Equal(0.75f, scalars.Single(s => s.Tag == "train/rewards/accuracies").Value);
        Assert.Equal(0.0123f, scalars.Single(s => s.Tag == "train/kl").Value);
        Assert.Equal(1.5f, scalars.Single(s => s.Tag == "eval/rewards/margins").Value);
    }

    [Fact]
    public void TensorBoard_CreatesNoFileBeforeTheRunStarts()
    {
        using (new TensorBoardObserver(_dir)) { }
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void ProgressLines_ShowNamedMetrics()
    {
        var o = new ProgressObserver(TextWriter.Null, TuneSharp.Training.Config.ProgressMode.Plain);
        o.OnStart(Info());
        Assert.Contains("| kl 0.0123 | rewards/accuracies 0.7500 |", o.PlainLine(NamedStep(1)));
        Assert.Contains("| rewards/margins 1.5000 |", ProgressObserver.EvalLine(NamedEval(1)));
    }

    [Fact]
    public void Plots_OnePngPerNamedMetric()
    {
        var o = new PlotObserver(_dir, 320, 200);
        o.OnStart(Info());
        for (long s = 1; s <= 5; s++) o.OnStep(NamedStep(s));
        o.OnEval(NamedEval(5));
        o.OnEnd(Summary(5));
        foreach (var name in new[] { "rewards/accuracies", "kl", "rewards/margins" })
            Assert.True(File.Exists(o.MetricPath(name)), name);
        Assert.EndsWith(Path.Combine("plots", "rewards_accuracies.png"), o.MetricPath("rewards/accuracies"));
    }

    [Fact]
    public void ResumedRunPlots_IncludeTheStepsBeforeTheResume()
    {
        string metrics = Path.Combine(_dir, "metrics.jsonl");
        using (var first = new JsonlMetricsObserver(metrics))
        {
            first.OnStart(Info());
            for (long s = 1; s <= 4; s++) first.OnStep(NamedStep(s));
        }
        using var jsonl = new JsonlMetricsObserver(metrics);
        var plot = new PlotObserver(_dir, 320, 200);
        var resumed = Info(startStep: 3);
        jsonl.OnStart(resumed);   // keeps steps 1..3 (the checkpoint's), as in a real resume
        plot.OnStart(resumed);
        plot.OnStep(NamedStep(4));
        plot.OnEnd(Summary(4));
        // Without the replay the resumed process would plot step 4 only.
        Assert.Equal([1.0, 2, 3, 4], plot.PlottedSteps("loss"));
        Assert.Equal([1.0, 2, 3, 4], plot.PlottedSteps("kl"));
        Assert.True(File.Exists(plot.LossPath));
    }

    [Theory]
    [InlineData("Rewards")]
    [InlineData("loss")]
    [InlineData("a b")]
    [InlineData("/kl")]
    public void BadNames_AreRejected(string name) => Assert.Throws<ArgumentException>(() => NamedMetrics.Check(name));
}
