using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>The real `tunesharp generate` process: text on stdout, diagnostics on stderr.</summary>
public class GenerateCommandTests
{
    [Fact]
    public void Generate_LocalFolder_GreedyBosOnly_PrintsTheReferenceText()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        string expected = File.ReadAllText(Fixtures.Get("models/stories260K/expected_greedy_t0.txt"));
        var r = CliRunner.Run(null, "generate", "--model", dir, "--max-new-tokens", "64", "--temperature", "0");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(r.Stdout.Length > 100, r.Stdout);
        Assert.StartsWith(r.Stdout.TrimEnd('\n'), expected);
        Assert.Contains("tokens/s", r.Stderr);
        Assert.DoesNotContain("tokens/s", r.Stdout);
    }

    [Fact]
    public void Generate_HubId_DownloadsThroughHfEndpoint_ThenRunsOffline()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        using var hub = new FakeHub(dir);
        string cache = Directory.CreateTempSubdirectory("tunesharp-cli-hub").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HUB_CACHE"] = cache, ["HF_TOKEN"] = "" };
            var args = new[] { "generate", "--model", FakeHub.RepoId, "--prompt", "Once upon a time", "-n", "20", "-t", "0" };
            var online = CliRunner.Run(env, args);
            Assert.True(online.ExitCode == 0, online.Stderr);
            Assert.True(online.Stdout.Trim().Length > 20, online.Stdout);
            Assert.Contains(hub.Requests, r => r.Path.EndsWith("model.safetensors", StringComparison.Ordinal));

            int before = hub.Requests.Count;
            var offline = CliRunner.Run(new Dictionary<string, string>(env) { ["HF_HUB_OFFLINE"] = "1" }, args);
            Assert.True(offline.ExitCode == 0, offline.Stderr);
            Assert.Equal(online.Stdout, offline.Stdout); // greedy: same text from the cached snapshot
            Assert.Equal(before, hub.Requests.Count);    // offline mode sends nothing
        }
        finally { Directory.Delete(cache, true); }
    }

    [Fact]
    public void CtrlC_StopsTheStream_Exits130()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        // 100,000 tokens would take minutes: only the signal ends this run early.
        using var run = CliRunner.Start(null, "generate", "--model", dir, "--max-new-tokens", "100000", "--temperature", "0");
        run.WaitUntil(() => run.Stdout.Length > 0, "the first generated text");
        run.Signal(CliRunner.Running.SIGINT);
        Assert.True(run.WaitForExit() == 130, $"exit {run.Process.ExitCode}: {run.Stderr}");
        Assert.Contains("stopping cleanly", run.Stderr);
        run.AssertNoCrash();
    }
}
