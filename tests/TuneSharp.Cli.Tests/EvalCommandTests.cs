using System.Text.Json.Nodes;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp eval` through the real program: table on stdout, results file, clear errors.</summary>
public sealed class EvalCommandTests
{
    [Fact]
    public void Eval_Prints_The_Table_And_Writes_The_Results()
    {
        string model = Fixtures.Get("models/stories260K-hf");
        string data = Fixtures.Get("datasets/eval");
        string output = Path.Combine(Directory.CreateTempSubdirectory("tunesharp-eval-").FullName, "results.json");
        var r = CliRunner.Run(null, "eval", "--model", model, "--tasks", "arc_easy,piqa", "--limit", "3",
            "--data-dir", data, "--output", output);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("|arc_easy", r.Stdout);
        Assert.Contains("|piqa", r.Stdout);
        Assert.Contains("acc_norm", r.Stdout);
        var json = JsonNode.Parse(File.ReadAllText(output))!;
        Assert.Equal(3, (int)json["n-samples"]!["piqa"]!["effective"]!);
        Assert.NotNull(json["results"]!["piqa"]!["acc_stderr,none"]);
    }

    [Fact]
    public void Unknown_Task_Fails_Before_Loading_The_Model()
    {
        var r = CliRunner.Run(null, "eval", "--model", "/nonexistent/model", "--tasks", "arc_eazy");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("unknown task 'arc_eazy'", r.Stderr);
    }
}
