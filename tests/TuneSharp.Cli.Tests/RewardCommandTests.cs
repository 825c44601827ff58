using System.Globalization;
using System.Text.Json;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Recipes;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp reward score` end to end on reward models trained here on stories260K (full: the
/// *ForSequenceClassification folder; LoRA: base + SEQ_CLS adapter) with the repository's example pairs.</summary>
public sealed class RewardCommandTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-reward-cli").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static string Stories => Fixtures.Get("models/stories260K-hf");
    static string Pairs => Path.Combine(Fixtures.RepoRoot, "examples", "data", "preference_sample.jsonl");

    /// <summary>A reward model trained for 2 steps by the real recipe; returns the run's output folder.</summary>
    string Train(string method)
    {
        string output = Path.Combine(_root, method);
        var cfg = ConfigLoader.Parse($"""
            model:
              path: {Stories}
            method:
              type: {method}
              stage: reward
            data:
              datasets:
                - path: {Pairs}
              template: chatml
              max_seq_len: 128
              max_samples: 16
            optimizer:
              lr: 1.0e-2
            train:
              max_steps: 2
              micro_batch_size: 4
            output:
              dir: {output}
            logging:
              progress: none
              tensorboard: false
              plot: false
            """, Path.Combine(_root, $"{method}.yaml"));
        var summary = TrainRun.RunAsync(cfg, new TrainRunOptions { ResolvedYaml = ConfigLoader.ToYaml(cfg) }, TestContext.Current.CancellationToken)
            .GetAwaiter().GetResult();
        Assert.Equal("completed", summary.Status);
        return output;
    }

    static async Task<(int Exit, string Stdout, string Stderr)> Run(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(args, stdout, stderr, new StringReader(""));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Score_OfAFullRewardModel_WritesEveryPair_AndTheirAccuracyAndMeanMargin()
    {
        string model = Path.Combine(Train("full"), "model");
        string scores = Path.Combine(_root, "scores.jsonl");
        var r = await Run("reward", "score", "--model", model, "--data", Pairs, "--output", scores);
        Assert.True(r.Exit == 0, r.Stderr);

        var lines = File.ReadAllLines(scores).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(200, lines.Count);
        Assert.Equal($"{Pairs}:1", lines[0].GetProperty("source").GetString());
        var margins = lines.Select(l => l.GetProperty("chosen").GetDouble() - l.GetProperty("rejected").GetDouble()).ToList();
        foreach (var (l, m) in lines.Zip(margins)) Assert.Equal(m, l.GetProperty("margin").GetDouble(), 9);
        Assert.Contains(margins, m => m != 0); // the two answers differ, so do their scores
        int correct = margins.Count(m => m > 0);
        string expected = string.Create(CultureInfo.InvariantCulture,
            $"pairs: 200, pairwise accuracy: {correct / 200.0:F4} ({correct}/200), mean margin: {margins.Average():F4}");
        Assert.Contains(expected, r.Stdout);

        // Without --output the same lines go to stdout, before the summary.
        var again = await Run("reward", "score", "-m", model, "-d", Pairs);
        Assert.True(again.Exit == 0, again.Stderr);
        Assert.Equal([.. File.ReadAllLines(scores), expected], again.Stdout.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Score_OfARewardAdapter_LoadsTheHeadFromModulesToSave()
    {
        string adapter = Path.Combine(Train("lora"), "adapter");
        var r = await Run("reward", "score", "--model", Stories, "--adapter", adapter, "--data", Pairs);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("pairs: 200, pairwise accuracy: ", r.Stdout);
        Assert.Contains("template: adapter (tokenizer_config.json chat_template)", r.Stderr); // the trained chatml
    }

    [Fact]
    public async Task Score_OfConversations_PrintsOneScoreEach_AndNoPairwiseLine()
    {
        string model = Path.Combine(Train("full"), "model");
        string chats = Path.Combine(_root, "chats.jsonl");
        File.WriteAllLines(chats,
        [
            """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}""",
            """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away."}]}""",
        ]);
        var r = await Run("reward", "score", "-m", model, "-d", chats);
        Assert.True(r.Exit == 0, r.Stderr);
        var lines = r.Stdout.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.NotEqual(lines[0].GetProperty("score").GetDouble(), lines[1].GetProperty("score").GetDouble());
        Assert.DoesNotContain("pairwise accuracy", r.Stdout);
    }

    [Fact]
    public async Task Score_WithACausalLm_OrUnscorableData_FailsNamingTheFile()
    {
        var notReward = await Run("reward", "score", "-m", Stories, "-d", Pairs);
        Assert.NotEqual(0, notReward.Exit);
        Assert.Contains($"{Path.Combine(Stories, "config.json")}: not a reward model", notReward.Stderr);

        string model = Path.Combine(Train("full"), "model");
        string kto = Path.Combine(_root, "kto.jsonl");
        File.WriteAllLines(kto, ["""{"prompt": "Hi", "completion": "Hello.", "label": true}"""]);
        var r = await Run("reward", "score", "-m", model, "-d", kto);
        Assert.NotEqual(0, r.Exit);
        Assert.Contains($"{kto}:1: this is a KtoExample", r.Stderr);
    }
}
