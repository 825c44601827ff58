using System.Text.Json.Nodes;
using TuneSharp.Eval.Results;
using Xunit;

namespace TuneSharp.Eval.Tests;

/// <summary>EvalRunner end to end: lm-evaluation-harness's results shape, n-samples, groups, the table, an atomic file.</summary>
public sealed class ResultsTests(Stories stories) : IClassFixture<Stories>
{
    [Fact]
    public void Run_Writes_Harness_Shaped_Results()
    {
        var options = new EvalOptions { DataDir = Stories.DataRoot, Limit = 1, MaxGenTokens = 16, NumFewshot = 0 };
        var results = EvalRunner.Run(stories.Bundle, ["arc_easy", "mmlu", "gsm8k"], options);
        string dir = Directory.CreateTempSubdirectory("tunesharp-eval-").FullName;
        string path = Path.Combine(dir, "results.json");
        ResultsJson.Write(path, results);
        Assert.Equal(["results.json"], Directory.GetFiles(dir).Select(Path.GetFileName)); // no temporary file left

        var json = JsonNode.Parse(File.ReadAllText(path))!;
        var arc = json["results"]!["arc_easy"]!;
        Assert.InRange((double)arc["acc,none"]!, 0, 1);
        Assert.Equal("N/A", (string)arc["acc_stderr,none"]!);          // one item: no sample stderr, as the harness
        Assert.NotNull(arc["acc_norm,none"]);
        Assert.Equal(2376, (int)json["n-samples"]!["arc_easy"]!["original"]!);
        Assert.Equal(1, (int)json["n-samples"]!["arc_easy"]!["effective"]!);
        Assert.Equal(0, (int)json["configs"]!["arc_easy"]!["num_fewshot"]!);
        Assert.Equal(" ", (string)json["configs"]!["arc_easy"]!["target_delimiter"]!);
        Assert.Equal(1, (int)json["config"]!["limit"]!);

        // mmlu: one item per subject, the group's acc is their size-weighted mean, its stderr pooled.
        var subtasks = json["group_subtasks"]!["mmlu"]!.AsArray().Select(s => (string)s!).ToList();
        Assert.Equal(56, subtasks.Count);
        double mean = subtasks.Average(s => (double)json["results"]![s]!["acc,none"]!);
        Assert.Equal(mean, (double)json["groups"]!["mmlu"]!["acc,none"]!, 12);
        Assert.Equal(" - mmlu_anatomy", (string)json["results"]!["mmlu_anatomy"]!["alias"]!);

        var gsm = json["results"]!["gsm8k"]!;
        Assert.NotNull(gsm["exact_match,strict-match"]);
        Assert.NotNull(gsm["exact_match,flexible-extract"]);
        Assert.True((long)json["efficiency"]!["forwarded_tokens"]! > 0);

        string table = ResultsTable.Render(results);
        Assert.Contains("|arc_easy", table);
        Assert.Contains("|strict-match    |exact_match", table);
        Assert.Contains("| - mmlu_virology", table);
    }
}
