using System.Text.Json;
using TuneSharp.Eval;
using TuneSharp.Inference;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Forgetting;
using TuneSharp.Training.Tests.Observers;
using TuneSharp.Training.Tests.Recipes;
using Xunit;

namespace TuneSharp.Training.Tests.Forgetting;

/// <summary>
/// The forgetting check: general benchmarks on the model before the first step and on the tuned model at the end, in
/// the run (stories260K, real ARC-Easy and PIQA items), compared metric by metric, stored for resumed runs, reported.
/// </summary>
[Collection("training")]
public sealed class ForgettingCheckTests
{
    static readonly string[] Benchmarks = ["eval.benchmarks=[arc_easy, piqa]", "eval.benchmark_limit=12"];

    [Fact]
    public void FreshRun_ScoresBeforeAndAfter_ReportsEveryMetric_AndTheBeforeScoresAreTheUntouchedModels()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("full", h.WriteChatData(16)), [.. Benchmarks, "train.max_steps=4", "optimizer.lr=2.0e-2", "data.val_size=0.25"]);
        var summary = h.RunLogged(cfg);
        Assert.Equal("completed", summary.Status);

        var f = summary.Forgetting ?? throw new InvalidOperationException("no forgetting summary");
        string[] expected = ["arc_easy acc,none", "arc_easy acc_norm,none", "piqa acc,none", "piqa acc_norm,none"];
        Assert.Equal(expected, f.Changes.Select(c => $"{c.Task} {c.Metric}").Order());
        Assert.All(f.Changes, c => Assert.Equal(12, c.Items));
        Assert.All(f.Changes, c => Assert.True(c.BeforeStderr > 0 && c.AfterStderr > 0, $"{c.Task} {c.Metric}: stderr"));
        Assert.Contains(f.Changes, c => c.Before != c.After); // full fine-tuning at a high rate moved the scores

        // The scores before are those of the untouched model: the same tasks through tunesharp eval's runner.
        using var bundle = ModelBundle.Load(TrainHarness.ModelDir);
        var direct = EvalRunner.Run(bundle, ["arc_easy", "piqa"], new EvalOptions { Limit = 12 });
        foreach (var c in f.Changes)
            Assert.Equal(Convert.ToDouble(direct[c.Task].Metrics[c.Metric]), c.Before, 1e-9);

        string dir = cfg.Output.Dir;
        Assert.True(File.Exists(Path.Combine(dir, "benchmarks_before.json")) && File.Exists(Path.Combine(dir, "benchmarks_after.json")));
        string report = File.ReadAllText(Path.Combine(dir, "forgetting.md"));
        Assert.Contains("| arc_easy | acc,none | 12 |", report);
        Assert.Contains($"Task gain: validation loss {summary.EvalLossBefore:F4} -> {summary.EvalLossAfter:F4}", report); // the task's own gain beside it
        var png = File.ReadAllBytes(Path.Combine(dir, "forgetting.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        var forgetting = json.RootElement.GetProperty("summary").GetProperty("forgetting");
        Assert.Equal(4, forgetting.GetProperty("metrics").GetArrayLength());
        Assert.Equal(0.02, forgetting.GetProperty("threshold").GetDouble());
    }

    [Fact]
    public void ResumedRun_ComparesWithTheScoresStoredBeforeItsFirstStep()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WriteChatData(16)), [.. Benchmarks, "train.max_steps=4", "optimizer.lr=5.0e-2", "output.save_every_steps=2"]);
        Assert.Equal("interrupted", h.RunLogged(cfg, stopAt: 2).Status);
        string before = File.ReadAllText(Path.Combine(cfg.Output.Dir, "benchmarks_before.json"));
        var summary = h.RunLogged(cfg);
        Assert.Equal("completed", summary.Status);
        Assert.Equal(before, File.ReadAllText(Path.Combine(cfg.Output.Dir, "benchmarks_before.json"))); // not measured again
        var stored = BenchmarkScores.Load(Path.Combine(cfg.Output.Dir, "benchmarks_before.json"))!;
        Assert.Equal(stored.Scores.Select(s => s.Value), summary.Forgetting!.Changes.Select(c => c.Before));
    }

    [Fact]
    public void TrainingDataHoldingBenchmarkItems_IsReportedBeforeTraining_WithFileAndLine()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(16);
        // Two real ARC-Easy questions (items 3 and 7 of the first 12) pasted into training conversations, lines 17 and 18.
        var arc = File.ReadLines(Fixtures.Get("datasets/eval/arc-easy/arc_easy.jsonl")).Take(12).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (int i in new[] { 3, 7 })
            File.AppendAllLines(data, [JsonSerializer.Serialize(new { messages = new object[] {
                new { role = "user", content = arc[i].GetProperty("query").GetString() },
                new { role = "assistant", content = arc[i].GetProperty("choices")[arc[i].GetProperty("gold").GetInt32()].GetString() } } })]);
        var cfg = h.Config(h.Yaml("lora", data), [.. Benchmarks, "train.max_steps=1"]);
        h.RunLogged(cfg);
        var notes = TrainHarness.Records(cfg.Output.Dir, "start").Single().GetProperty("notes").EnumerateArray().Select(n => n.GetString()!).ToList();
        Assert.True(notes.Contains("contamination (13-gram overlap with the training data): arc_easy 2 of 12 item(s) (1 too short to check); its scores overstate what the model knows"), string.Join("\n", notes));
        Assert.Contains(notes, n => n.StartsWith("  arc_easy item 3 at ", StringComparison.Ordinal) && n.Contains(data + ":17"));
        Assert.Contains(notes, n => n.StartsWith("  arc_easy item 7 at ", StringComparison.Ordinal) && n.Contains(data + ":18"));
        Assert.Contains(notes, n => n.StartsWith("contamination (13-gram overlap with the training data): piqa 0 of 12", StringComparison.Ordinal));
    }

    [Fact]
    public void DamagedScoresFromBeforeTheRun_CostTheComparison_NotTheRun()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WriteChatData(16)), [.. Benchmarks, "train.max_steps=4", "output.save_every_steps=2"]);
        Assert.Equal("interrupted", h.RunLogged(cfg, stopAt: 2).Status);
        string before = Path.Combine(cfg.Output.Dir, "benchmarks_before.json");
        File.WriteAllText(before, "{\"tasks\": [\"arc_easy\"], \"sco"); // cut short, as by a full disk elsewhere
        var summary = h.RunLogged(cfg);
        Assert.Equal("completed", summary.Status);
        Assert.True(File.Exists(Path.Combine(cfg.Output.Dir, "adapter", "adapter_model.safetensors")));
        var f = summary.Forgetting!;
        Assert.Empty(f.Changes);
        Assert.Contains(before, Assert.Single(f.Warnings));
        Assert.True(File.Exists(Path.Combine(cfg.Output.Dir, "benchmarks_after.json")));
        Assert.False(File.Exists(Path.Combine(cfg.Output.Dir, "forgetting.md")));
    }

    [Fact]
    public void TheConsoleSummary_ListsFlaggedMetricsFirst_AndAtMostAScreenful()
    {
        var changes = Enumerable.Range(0, 20).Select(i => new BenchmarkChange($"mmlu_s{i}", "acc,none", 0.5, 0.01, i == 17 ? 0.3 : 0.5, 0.01, true, 100)).ToList();
        var lines = TuneSharp.Training.Observers.ProgressObserver.SummaryTable(ObserverTestData.Summary() with
        {
            Forgetting = new ForgettingSummary(changes, 0.02, ForgettingSummary.WarningsFor(changes, 0.02), "forgetting.md", null),
        });
        var benchmarks = lines.Where(l => l.StartsWith("  benchmark", StringComparison.Ordinal)).ToList();
        Assert.Equal(13, benchmarks.Count);
        Assert.StartsWith("  benchmark    mmlu_s17 acc 0.5000 -> 0.3000", benchmarks[0]);
        Assert.EndsWith("DROPPED", benchmarks[0]);
        Assert.Equal("  benchmark    ... and 8 more metrics in the report", benchmarks[^1]);
        Assert.Contains(lines, l => l.Contains("warning: mmlu_s17 acc,none dropped"));
    }

    [Fact]
    public void Drops_BeyondTheThreshold_AreWarnings_InPointsForAccuracies_RelativeForPerplexities()
    {
        BenchmarkScores Scores(double acc, double ppl) => new(["t"], 10,
            [new BenchmarkScore("arc_easy", "acc,none", acc, 0.01, true, 10), new BenchmarkScore("text", "word_perplexity,none", ppl, null, false, 3)]);
        var changes = ForgettingSummary.Compare(Scores(0.60, 20), Scores(0.55, 20.3));
        Assert.Equal(0.05, changes[0].Drop, 1e-12);
        Assert.Equal(0.015, changes[1].Drop, 1e-12);
        var warnings = ForgettingSummary.WarningsFor(changes, 0.02);
        Assert.Contains("arc_easy acc,none dropped 0.6000 -> 0.5500", Assert.Single(warnings));
        Assert.Equal(2, ForgettingSummary.WarningsFor(ForgettingSummary.Compare(Scores(0.60, 20), Scores(0.50, 25)), 0.02).Count);
        Assert.Empty(ForgettingSummary.WarningsFor(ForgettingSummary.Compare(Scores(0.50, 25), Scores(0.60, 20)), 0.02)); // improved
        // A 100-item accuracy moving by 0.05 with stderrs of 0.05 is noise, not forgetting: beyond the threshold, not flagged.
        var noisy = new BenchmarkChange("arc_easy", "acc,none", 0.60, 0.05, 0.55, 0.05, true, 100);
        Assert.True(noisy.Drop > 0.02);
        Assert.False(noisy.DroppedBeyond(0.02));
        Assert.True((noisy with { Before = 0.80 }).DroppedBeyond(0.02)); // 0.25 > 2 x 0.071
    }

    [Fact]
    public void NamedBenchmarksMustExist_TheDefaultSuiteIsSkippedWithANote_AndEmptyTurnsItOff()
    {
        using var h = new TrainHarness();
        string data = h.WriteChatData(8);
        var missing = h.Config(h.Yaml("lora", data), "eval.benchmarks=[arc_easy]", $"eval.benchmark_data={Path.Combine(h.Dir, "nowhere")}",
            $"output.dir={Path.Combine(h.Dir, "missing")}");
        var ex = Assert.Throws<ConfigException>(() => h.RunLogged(missing));
        Assert.Contains("eval.benchmarks", ex.Message);
        Assert.Contains("nowhere", ex.Message);

        var notes = new List<string>();
        var defaults = h.Config(h.Yaml("lora", data), "eval.benchmarks=null", $"eval.benchmark_data={Path.Combine(h.Dir, "nowhere")}");
        Assert.Null(ForgettingCheck.For(defaults, h.Dir, notes, TestContext.Current.CancellationToken));
        Assert.Contains(notes, n => n.StartsWith("forgetting check skipped", StringComparison.Ordinal));

        var off = h.Config(h.Yaml("lora", data), $"output.dir={Path.Combine(h.Dir, "off")}");
        Assert.Null(h.RunLogged(off).Forgetting);
        Assert.False(File.Exists(Path.Combine(off.Output.Dir, "forgetting.md")));
    }
}
