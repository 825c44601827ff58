using System.Diagnostics;
using System.Text.Json;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>The real `tunesharp train` process: config errors, SIGKILL + resume, signals (start-up, steps, a second one).</summary>
public class TrainCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-cli-train").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    string WriteConfig(string name, int maxSteps, int saveEvery, int gradAccum = 1)
    {
        string data = Path.Combine(_dir, "train.jsonl");
        if (!File.Exists(data))
            File.WriteAllLines(data, Enumerable.Range(0, 64).Select(i => JsonSerializer.Serialize(new
            {
                messages = new object[]
                {
                    new { role = "user", content = $"Tell me story number {i}." },
                    new { role = "assistant", content = $"Once upon a time there was a little cat number {i}. It was happy." },
                },
            })));
        string path = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(path, $"""
            model:
              path: {Fixtures.Get("models/stories260K-hf")}
              dtype: fp32
            method:
              type: lora
              lora:
                r: 4
                dropout: 0.1
                targets: all-linear
            data:
              datasets: [{data}]
              template: chatml
              max_seq_len: 96
            schedule:
              type: cosine
              warmup_steps: 2
            train:
              max_steps: {maxSteps}
              micro_batch_size: 4
              grad_accum: {gradAccum}
              seed: 3
            output:
              dir: {Path.Combine(_dir, name)}
              save_every_steps: {saveEvery}
            eval:
              benchmarks: []
            logging:
              progress: plain
              tensorboard: false
              plot: false
            """);
        return path;
    }

    static List<double> Losses(string outputDir) =>
        File.ReadLines(Path.Combine(outputDir, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "step")
            .Select(e => e.GetProperty("loss").GetDouble()).ToList();

    /// <summary>Polls metrics.jsonl (written and flushed per step by the child) until it has <paramref name="steps"/> steps.</summary>
    static void WaitForSteps(CliRunner.Running run, string outputDir, int steps)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (CompletedStepLines(outputDir) < steps)
        {
            if (run.Process.HasExited) Assert.Fail($"the run ended (exit {run.Process.ExitCode}) before step {steps}: {run.Stderr}");
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for step {steps}: {run.Stderr}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Step lines terminated by a newline (the child may be in the middle of writing the next one).</summary>
    static int CompletedStepLines(string outputDir)
    {
        string path = Path.Combine(outputDir, "metrics.jsonl");
        if (!File.Exists(path)) return 0;
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        string text = new StreamReader(s).ReadToEnd();
        return text.Split('\n')[..^1].Count(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Quickstart_RunsHereOnStories260K_AndShowsBeforeAndAfter()
    {
        // The README's main job, pointed at the local real model as it runs without hub access, for a few steps.
        string quickstart = Path.Combine(Fixtures.RepoRoot, "examples", "quickstart.yaml");
        string output = Path.Combine(_dir, "quickstart");
        var r = CliRunner.Run(null, "train", quickstart, $"model.path={Fixtures.Get("models/stories260K-hf")}",
            "data.template=mistral", "train.max_steps=3", "eval.every_steps=null", $"output.dir={output}", "logging.progress=plain",
            "eval.benchmark_limit=5");
        Assert.True(r.ExitCode == 0, r.Stderr);
        // The forgetting check is on by default: the general suite before and after, in the summary and the report.
        Assert.Contains("forgetting check: arc_easy, piqa, hellaswag (first 5 items each)", r.Stdout);
        Assert.Contains("benchmark    hellaswag acc", r.Stdout);
        Assert.True(File.Exists(Path.Combine(output, "forgetting.md")), r.Stdout);
        Assert.Contains("eval loss    before", r.Stdout);
        Assert.Contains("before:", r.Stdout);
        Assert.Contains("after:", r.Stdout);
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_config.json")));
        // The template the run trained with travels with the adapter (chat/serve/export use it by default).
        Assert.Equal(TuneSharp.Data.Templates.ChatTemplate.BuiltIn("mistral").Source,
            TuneSharp.Tokenizers.HfTokenizer.Load(Path.Combine(output, "adapter")).ChatTemplate);
        Assert.True(File.Exists(Path.Combine(output, "summary.json")));
        Assert.True(File.Exists(Path.Combine(output, "resolved_config.yaml")));
        Assert.Equal(3, Losses(output).Count);
    }

    [Fact]
    public void UnknownConfigKey_ExitsWithADidYouMean()
    {
        string cfg = WriteConfig("typo", 2, 1);
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("  benchmarks: []", "  benchmarks: []\n  evry_steps: 3"));
        var r = CliRunner.Run(null, "train", cfg);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("evry_steps", r.Stderr);
        Assert.Contains("did you mean 'every_steps'", r.Stderr);
    }

    [Fact]
    public async Task MissingDatasetOrModel_IsAConfigError_NamingTheConfigFileAndTheKey()
    {
        string cfg = WriteConfig("missing", 2, 1);
        string data = Path.Combine(_dir, "nowhere.jsonl"), model = Path.Combine(_dir, "no-model");
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(["train", cfg, $"data.datasets=[{data}]", $"model.path={model}"], new StringWriter(), stderr);
        Assert.Equal(CliApp.UsageError, exit);
        Assert.Contains($"{cfg}: data.datasets[0].path: dataset not found: {data}", stderr.ToString());
        Assert.Contains($"{cfg}: model.path: model folder not found: {model}", stderr.ToString());
        Assert.False(Directory.Exists(Path.Combine(_dir, "missing")), "nothing is written for a config that cannot run");
    }

    [Fact]
    public void KilledRun_ResumesToTheSameLossCurve()
    {
        // Uninterrupted reference.
        var reference = CliRunner.Run(null, "train", WriteConfig("reference", 16, 2));
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        var expected = Losses(Path.Combine(_dir, "reference"));
        Assert.Equal(16, expected.Count);

        // Same run (LoRA dropout 0.1: resume must continue the dropout masks too), SIGKILLed once it has logged step 7, then started again (auto-resume from the last checkpoint).
        string cfg = WriteConfig("killed", 16, 2);
        using (var run = CliRunner.Start(null, "train", cfg))
        {
            WaitForSteps(run, Path.Combine(_dir, "killed"), 7);
            run.Process.Kill(); // SIGKILL: no chance to save anything
            run.Process.WaitForExit();
        }
        var resumed = CliRunner.Run(null, "train", cfg);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming from", resumed.Stderr);
        var actual = Losses(Path.Combine(_dir, "killed"));
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"step {i + 1}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Sigterm_SavesACheckpointAndExits143()
    {
        string cfg = WriteConfig("term", 2000, 1000);
        using var run = CliRunner.Start(null, "train", cfg);
        WaitForSteps(run, Path.Combine(_dir, "term"), 3);
        using (var kill = Process.Start("kill", ["-TERM", run.Process.Id.ToString()])!) kill.WaitForExit();
        Assert.True(run.Process.WaitForExit(TimeSpan.FromMinutes(1)), "no exit after SIGTERM");
        Assert.True(run.Process.ExitCode == 143, $"exit {run.Process.ExitCode}: {run.Stderr}");
        var checkpoints = Directory.GetDirectories(Path.Combine(_dir, "term", "checkpoints"), "step-*");
        Assert.Single(checkpoints);
        int steps = Losses(Path.Combine(_dir, "term")).Count;
        Assert.EndsWith($"step-{steps:D7}", checkpoints[0]);
    }

    [Fact]
    public void CtrlC_DuringStartup_Exits130_BeforeAnyStep()
    {
        string output = Path.Combine(_dir, "startup");
        using var run = CliRunner.Start(null, "train", WriteConfig("startup", 2000, 1000));
        // resolved_config.yaml is written once the output folder is locked, before the model and data are loaded.
        run.WaitUntil(() => File.Exists(Path.Combine(output, "resolved_config.yaml")), "the run to start");
        run.Signal(CliRunner.Running.SIGINT);
        Assert.True(run.WaitForExit() == 130, $"exit {run.Process.ExitCode}: {run.Stderr}");
        Assert.Contains("stopping cleanly", run.Stderr);
        run.AssertNoCrash();
        Assert.Equal(0, CompletedStepLines(output));
        Assert.False(Directory.Exists(Path.Combine(output, "checkpoints")), "a run stopped before its first step has nothing to save");
    }

    [Theory]
    [InlineData(CliRunner.Running.SIGINT, 130)]
    [InlineData(CliRunner.Running.SIGTERM, 143)]
    public void SecondSignal_WhileTheStepFinishes_ExitsAtOnceWithTheSignalsCode(int signal, int code)
    {
        // Long steps (16 micro batches), so the second signal comes while the first one waits for the step to end.
        string name = $"twice-{signal}";
        using var run = CliRunner.Start(null, "train", WriteConfig(name, 2000, 1000, gradAccum: 16));
        WaitForSteps(run, Path.Combine(_dir, name), 1);
        run.Signal(signal);
        run.WaitUntil(() => run.Stderr.Contains("stopping cleanly", StringComparison.Ordinal), "the first signal to be taken");
        run.Signal(signal);
        Assert.True(run.WaitForExit() == code, $"exit {run.Process.ExitCode}: {run.Stderr}");
        Assert.Contains("again: exiting now", run.Stderr);
        run.AssertNoCrash();
    }

    [Fact]
    public void SecondRunOnTheSameFolder_IsRefused_NamingTheOwnersPidAndHost()
    {
        string cfg = WriteConfig("locked", 2000, 1000);
        using var first = CliRunner.Start(null, "train", cfg);
        WaitForSteps(first, Path.Combine(_dir, "locked"), 1);

        var second = CliRunner.Run(null, "train", cfg);

        Assert.Equal(1, second.ExitCode);
        Assert.Contains("in use by another training run", second.Stderr);
        Assert.Contains($"pid {first.Process.Id} on host {Environment.MachineName}", second.Stderr);
        first.Signal(CliRunner.Running.SIGTERM);
        Assert.Equal(143, first.WaitForExit());
    }
}

