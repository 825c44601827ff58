using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp data validate --model` on preference pairs: the pairs as the pair stages encode them (prompt cut
/// first, then both answers), and pairs training would refuse reported as problems with their file:line.</summary>
public sealed class DataValidatePairsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-data-pairs").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    static string Pair(string prompt, string chosen, string rejected) => JsonSerializer.Serialize(new
    {
        input = new { messages = new[] { new { role = "user", content = prompt } } },
        preferred_output = new[] { new { role = "assistant", content = chosen } },
        non_preferred_output = new[] { new { role = "assistant", content = rejected } },
    });

    [Fact]
    public async Task Validate_PreferencePairs_CountsPromptAndAnswerTruncation_AndRefusedPairs()
    {
        string longPrompt = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 20)); // ~140 tokens
        string longAnswer = string.Concat(Enumerable.Repeat("the dog ran. ", 15));            // ~60 tokens
        string path = Path.Combine(dir, "pairs.jsonl");
        File.WriteAllLines(path,
        [
            Pair("Say yes.", "Yes.", "No."),                 // fits
            Pair(longPrompt, "Yes.", "No."),                 // prompt cut only
            Pair(longPrompt, longAnswer, "No. " + longAnswer), // prompt cut to half, then both answers
            Pair("Same?", "Same.", "Same."),                 // refused: identical answers
        ]);
        string[] args = ["data", "validate", path, "--model", Fixtures.Get("models/stories260K-hf"), "--template", "chatml", "--max-seq-len", "64"];

        var stdout = new StringWriter();
        int exit = await CliApp.RunAsync([.. args, "--json"], stdout, new StringWriter());
        Assert.Equal(1, exit); // the refused pair is a problem
        var json = JsonNode.Parse(stdout.ToString())!.AsObject();
        var pairs = json["tokens"]!["pairs"]!;
        Assert.Equal(4, pairs["pairs"]!.GetValue<long>());
        Assert.Equal(2, pairs["prompt_truncated"]!.GetValue<long>());
        Assert.Equal(1, pairs["answers_truncated"]!.GetValue<long>());
        Assert.Equal(1, pairs["refused"]!.GetValue<long>());
        var problem = json["problems"]!.AsArray().Single()!;
        Assert.Equal("encoding_failed", problem["code"]!.GetValue<string>());
        Assert.Contains("chosen and rejected are identical", problem["message"]!.GetValue<string>());

        var text = new StringWriter();
        Assert.Equal(1, await CliApp.RunAsync(args, text, new StringWriter()));
        string output = text.ToString();
        Assert.Matches(@"prompt cut\s+2  prompt \+ longer answer > max_seq_len 64", output);
        Assert.Matches(@"answers cut\s+1  ", output);
        Assert.Contains($"{path}:4", output);
    }

    [Fact]
    public async Task Validate_PairsWhoseChosenConversationIsCutBeforeTheAnswer_AreStillTrainable()
    {
        // At max_seq_len 48 every chosen conversation of the sample keeps no answer token when cut at its tail (the SFT
        // rule, "dropped"), but the pair stages cut the prompt first: every pair trains, so the data is valid.
        string[] args = ["data", "validate", Path.Combine(Fixtures.RepoRoot, "examples", "data", "preference_sample.jsonl"),
            "--model", Fixtures.Get("models/stories260K-hf"), "--template", "chatml", "--max-seq-len", "48", "--json"];
        var stdout = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(args, stdout, new StringWriter()));
        var json = JsonNode.Parse(stdout.ToString())!.AsObject();
        Assert.Null(json["nothing_to_train"]);
        Assert.Equal(200, json["tokens"]!["dropped"]!.GetValue<long>());
        Assert.Equal(200, json["tokens"]!["pairs"]!["pairs"]!.GetValue<long>());
        Assert.Equal(200, json["tokens"]!["pairs"]!["prompt_truncated"]!.GetValue<long>());
        Assert.Equal(0, json["tokens"]!["pairs"]!["refused"]!.GetValue<long>());
    }
}
