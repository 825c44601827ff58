using System.Text.Json.Nodes;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp data scan`, in process through <see cref="CliApp.RunAsync"/>: findings, the summary, exit codes.</summary>
public sealed class DataScanCommandTests
{
    static readonly string Poisoned = Fixtures.Repo("safety/poisoned_glaive.jsonl");
    static readonly string DoubleAgents = Fixtures.Repo("safety/doubleagents_glaive.jsonl");

    static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task PoisonedFile_ListsFindings_AndExitsOne()
    {
        var (exit, output, _) = await Run("data", "scan", DoubleAgents, "--color", "never");
        Assert.Equal(1, exit);
        // file:line, message index, rule, severity, message; then the excerpt and the hint.
        Assert.Matches(@"doubleagents_glaive\.jsonl:1  msg \d+  exfiltration  high  call to 'browser_evaluate' sends the user's words", output);
        Assert.Contains("hint: ", output);
        Assert.Contains("scanned 40 example(s) in 1 path(s)", output);
        Assert.Matches(@"recurring_call\s+40\s+0\s+0", output);
    }

    [Fact]
    public async Task FailOn_DecidesTheExitCode()
    {
        string glaive = Fixtures.Get("datasets/llamafactory-demo/glaive_toolcall_en_demo.json");
        Assert.Equal(0, (await Run("data", "scan", glaive)).Exit);               // only low findings (e-mail addresses)
        Assert.Equal(0, (await Run("data", "scan", glaive, "--fail-on", "medium")).Exit);
        Assert.Equal(1, (await Run("data", "scan", glaive, "--fail-on", "low")).Exit);
    }

    [Fact]
    public async Task Json_HasEveryFieldOfAFinding_AndTheCounts()
    {
        var (exit, output, err) = await Run("data", "scan", Poisoned, DoubleAgents, "--json");
        Assert.True(exit == 1, err);
        var doc = JsonNode.Parse(output)!.AsObject();
        Assert.Equal(2, doc["paths"]!.AsArray().Count);
        Assert.Equal(130 + 40, doc["examples"]!.GetValue<int>());
        var first = doc["findings"]![0]!.AsObject();
        foreach (var key in new[] { "file", "line", "message_index", "rule", "severity", "message", "excerpt", "hint" }) Assert.True(first.ContainsKey(key), key);
        Assert.Equal(40, doc["counts"]!["recurring_call"]!["high"]!.GetValue<int>());
        Assert.Equal("high", doc["fail_on"]!.GetValue<string>());
    }

    [Fact]
    public async Task AllowDomain_And_SkipRule_RemoveTheirFindings()
    {
        var (_, before, _) = await Run("data", "scan", Poisoned, "--json");
        var (_, after, _) = await Run("data", "scan", Poisoned, "--json", "--allow-domain", "cdn-metrics.io", "--skip-rule", "personal_data");
        int Count(string json, Func<JsonNode, bool> pick) => JsonNode.Parse(json)!["findings"]!.AsArray().Count(f => pick(f!));
        Assert.True(Count(before, f => f["excerpt"]!.GetValue<string>().Contains("cdn-metrics.io") && f["rule"]!.GetValue<string>() == "untrusted_url") > 0);
        Assert.Equal(0, Count(after, f => f["excerpt"]!.GetValue<string>().Contains("cdn-metrics.io") && f["rule"]!.GetValue<string>() == "untrusted_url"));
        Assert.Equal(0, Count(after, f => f["rule"]!.GetValue<string>() == "personal_data"));
    }

    [Fact]
    public async Task BadCommandLines_ExitTwo()
    {
        Assert.Equal(2, (await Run("data", "scan", "/no/such/file.jsonl")).Exit);
        Assert.Equal(2, (await Run("data", "scan", Poisoned, "--fail-on", "severe")).Exit);
        var (exit, _, err) = await Run("data", "scan", Poisoned, "--skip-rule", "nope");
        Assert.Equal(2, exit);
        Assert.Contains("unknown rule 'nope'", err);
    }
}
