using System.Text.Json;
using TuneSharp.Training.Observers;
using Xunit;
using static TuneSharp.Training.Tests.Observers.ObserverTestData;

namespace TuneSharp.Training.Tests.Observers;

public sealed class SummaryObserverTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-summary-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesRunSummaryAndEstimateVsMeasured()
    {
        string path = Path.Combine(_dir, "out", "summary.json");
        using (var o = new SummaryObserver(path))
        {
            o.OnStart(Info());
            o.OnStep(Step(1));
            o.OnEnd(Summary());
        }
        Assert.False(File.Exists(path + ".tmp"));
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Assert.Equal("stories260K", root.GetProperty("run").GetProperty("model").GetString());
        Assert.Equal("completed", root.GetProperty("summary").GetProperty("status").GetString());
        Assert.Equal(10, root.GetProperty("summary").GetProperty("best_step").GetInt64());
        var mem = root.GetProperty("estimate_vs_measured").GetProperty("peak_memory_bytes");
        Assert.Equal(800.0 * 1024 * 1024, mem.GetProperty("estimated").GetDouble());
        Assert.Equal(1024.0 / 800, mem.GetProperty("ratio").GetDouble(), 12);
        var secs = root.GetProperty("estimate_vs_measured").GetProperty("seconds");
        Assert.Equal(192.0 / 150, secs.GetProperty("ratio").GetDouble(), 12);
    }

    [Fact]
    public void WithoutEstimates_RatioIsNull()
    {
        string path = Path.Combine(_dir, "summary.json");
        using (var o = new SummaryObserver(path))
        {
            o.OnStart(Info() with { EstimatedPeakMemoryBytes = null });
            o.OnEnd(Summary() with { EstimatedPeakMemoryBytes = null });
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var mem = doc.RootElement.GetProperty("estimate_vs_measured").GetProperty("peak_memory_bytes");
        Assert.Equal(JsonValueKind.Null, mem.GetProperty("ratio").ValueKind);
        Assert.Equal(1024.0 * 1024 * 1024, mem.GetProperty("measured").GetDouble());
    }
}

public sealed class CompositeObserverTests
{
    sealed class Recorder : ITrainingObserver
    {
        public List<string> Events { get; } = [];
        public int Disposed { get; private set; }
        public void OnStart(RunInfo info) => Events.Add("start");
        public void OnStep(StepMetrics metrics) => Events.Add($"step {metrics.Step}");
        public void OnEval(EvalMetrics metrics) => Events.Add($"eval {metrics.Step}");
        public void OnCheckpoint(long step, string path) => Events.Add($"checkpoint {step}");
        public void OnEnd(RunSummary summary) => Events.Add("end");
        public void Dispose() => Disposed++;
    }

    sealed class BrokenOnStep(long failAt) : ITrainingObserver
    {
        public int Calls { get; private set; }
        public int Disposed { get; private set; }
        public void OnStart(RunInfo info) { }
        public void OnStep(StepMetrics metrics)
        {
            Calls++;
            if (metrics.Step >= failAt) throw new IOException("disk full");
        }
        public void OnEval(EvalMetrics metrics) => Calls++;
        public void OnCheckpoint(long step, string path) => Calls++;
        public void OnEnd(RunSummary summary) => Calls++;
        public void Dispose() => Disposed++;
    }

    [Fact]
    public void AFailingObserver_IsReportedOnceAndDisabled_OthersGetEveryEvent()
    {
        var before = new Recorder();
        var broken = new BrokenOnStep(failAt: 2);
        var after = new Recorder();
        var errors = new StringWriter();
        using (var c = new CompositeObserver([before, broken, after], errors))
        {
            c.OnStart(Info());
            for (long s = 1; s <= 4; s++) c.OnStep(Step(s));
            c.OnEval(EvalAt(4, 2.0));
            c.OnCheckpoint(4, "ckpt");
            c.OnEnd(Summary(4));
            Assert.Equal([before, after], c.Active);
        }
        string[] expected = ["start", "step 1", "step 2", "step 3", "step 4", "eval 4", "checkpoint 4", "end"];
        Assert.Equal(expected, before.Events);
        Assert.Equal(expected, after.Events);
        Assert.Equal(2, broken.Calls); // step 1, then the failing step 2; nothing after
        Assert.Equal(1, broken.Disposed);
        Assert.Equal(1, before.Disposed);
        var log = errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["warning: observer BrokenOnStep failed in OnStep and is disabled: IOException: disk full"], log);
    }
}
