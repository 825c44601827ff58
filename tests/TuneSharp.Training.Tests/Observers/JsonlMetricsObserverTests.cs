using System.Text.Json;
using TuneSharp.Training.Observers;
using Xunit;
using static TuneSharp.Training.Tests.Observers.ObserverTestData;

namespace TuneSharp.Training.Tests.Observers;

public sealed class JsonlMetricsObserverTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-jsonl-").FullName;
    string MetricsPath => Path.Combine(_dir, "metrics.jsonl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static JsonElement[] ReadAll(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    static string[] Types(JsonElement[] lines) => [.. lines.Select(l => l.GetProperty("type").GetString()!)];

    static long[] StepsOf(JsonElement[] lines, string type) =>
        [.. lines.Where(l => l.GetProperty("type").GetString() == type).Select(l => l.GetProperty("step").GetInt64())];

    void RunSteps(long start, long end, long? checkpointAt = null, bool finish = true)
    {
        using var o = new JsonlMetricsObserver(MetricsPath, new FakeClock());
        o.OnStart(Info(totalSteps: 10, startStep: start));
        for (long s = start + 1; s <= end; s++)
        {
            o.OnStep(Step(s));
            if (s == checkpointAt) o.OnCheckpoint(s, $"ckpt-{s}");
        }
        if (finish) o.OnEnd(Summary(end));
    }

    [Fact]
    public void WritesOneObjectPerEvent_WithSnakeCaseFields()
    {
        using (var o = new JsonlMetricsObserver(MetricsPath, new FakeClock()))
        {
            o.OnStart(Info());
            o.OnStep(Step(10));
            o.OnEval(EvalAt(10, 2.5));
            o.OnCheckpoint(10, "runs/test/checkpoint-10");
            o.OnEnd(Summary());
        }
        var lines = ReadAll(MetricsPath);
        Assert.Equal(["start", "step", "eval", "checkpoint", "end"], Types(lines));
        var step = lines[1];
        Assert.Equal(10, step.GetProperty("step").GetInt64());
        Assert.Equal(0.25, step.GetProperty("epoch").GetDouble());
        Assert.Equal(2.9, step.GetProperty("loss").GetDouble());
        Assert.Equal(1.1e-4, step.GetProperty("lr").GetDouble(), 15);
        Assert.Equal(0.1, step.GetProperty("grad_norm").GetDouble());
        Assert.Equal(300, step.GetProperty("trained_tokens").GetInt64());
        Assert.Equal(1010, step.GetProperty("tokens_per_s").GetDouble());
        Assert.Equal("2025-01-02T03:04:05.0000000+00:00", step.GetProperty("time").GetString());
        Assert.True(lines[2].GetProperty("is_best").GetBoolean());
        Assert.Equal(12_345, lines[0].GetProperty("trainable_parameters").GetInt64());
        Assert.Equal("there was a cat\nwho", lines[4].GetProperty("samples")[0].GetProperty("after").GetString());
    }

    [Fact]
    public void NonFiniteValues_AreWrittenAsNull()
    {
        using (var o = new JsonlMetricsObserver(MetricsPath))
        {
            o.OnStart(Info());
            o.OnStep(Step(1) with { Loss = double.NaN, GradNorm = double.PositiveInfinity });
        }
        var step = ReadAll(MetricsPath)[1];
        Assert.Equal(JsonValueKind.Null, step.GetProperty("loss").ValueKind);
        Assert.Equal(JsonValueKind.Null, step.GetProperty("grad_norm").ValueKind);
    }

    [Fact]
    public void EveryLineIsOnDiskBeforeDispose()
    {
        using var o = new JsonlMetricsObserver(MetricsPath);
        o.OnStart(Info());
        o.OnStep(Step(1));
        o.OnStep(Step(2));
        // Read while the writer is still open, as after a kill: both steps are complete lines.
        using var reader = new StreamReader(new FileStream(MetricsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var text = reader.ReadToEnd();
        Assert.EndsWith("\n", text);
        Assert.Equal(3, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Resume_DropsStepsAfterTheStartStep_SoNoStepIsDuplicated()
    {
        RunSteps(0, 8, checkpointAt: 5, finish: false); // killed after step 8, last checkpoint at 5
        RunSteps(5, 10);                                  // resumed from the checkpoint
        var lines = ReadAll(MetricsPath);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], StepsOf(lines, "step"));
        Assert.Equal([0, 5], StepsOf(lines, "start"));
        Assert.Equal([5], StepsOf(lines, "checkpoint"));
        Assert.Equal([10], StepsOf(lines, "end"));
    }

    [Fact]
    public void Resume_DropsTheOldEndLineAndATornLastLine()
    {
        RunSteps(0, 6, checkpointAt: 4); // ended (e.g. interrupted) at step 6
        File.AppendAllText(MetricsPath, "{\"type\":\"step\",\"st"); // a write cut by a kill
        RunSteps(4, 10);
        var lines = ReadAll(MetricsPath); // every line parses
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], StepsOf(lines, "step"));
        Assert.Equal([10], StepsOf(lines, "end"));
        Assert.False(File.Exists(MetricsPath + ".tmp"));
    }

    [Fact]
    public void FreshRun_TruncatesAnOldFile()
    {
        RunSteps(0, 6);
        RunSteps(0, 3);
        Assert.Equal([1, 2, 3], StepsOf(ReadAll(MetricsPath), "step"));
    }

    [Fact]
    public void EventBeforeStart_Throws()
    {
        using var o = new JsonlMetricsObserver(MetricsPath);
        var ex = Assert.Throws<InvalidOperationException>(() => o.OnStep(Step(1)));
        Assert.Contains("metrics.jsonl", ex.Message);
    }
}
