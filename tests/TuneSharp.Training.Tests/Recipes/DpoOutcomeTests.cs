using System.Text.Json;
using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>
/// What DPO is for, measured on generations. As in practice, DPO starts from an SFT model: stories260K fully fine-tuned
/// on the same questions answered "The {animal} was very happy." or "... sad." (half each), so it answers in that shape
/// and picks either mood. DPO (LoRA) on pairs preferring "happy" must then make greedy answers to held-out prompts
/// (colour/animal combinations never trained) show the preferred mood far more often than the SFT model's answers do.
/// The DPO run's own before/after samples are read.
/// </summary>
[Collection("training")]
public sealed class DpoOutcomeTests
{
    static readonly string[] Animals = ["cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck"];
    static readonly string[] Colors = ["red", "blue", "green", "big", "small", "old"];

    static string Question(string color, string animal) => $"How did the {color} {animal} feel at the park?";

    /// <summary>Pairs for every (colour, animal) whose index sum is odd; the even ones are held out as prompts.</summary>
    static string WriteTraitPairs(TrainHarness h)
    {
        var lines = new List<string>();
        foreach (var (c, a) in Pairs())
        {
            object Answer(string mood) => new[] { new { role = "assistant", content = $"The {Animals[a]} was very {mood}." } };
            lines.Add(JsonSerializer.Serialize(new
            {
                input = new { messages = new[] { new { role = "user", content = Question(Colors[c], Animals[a]) } } },
                preferred_output = Answer("happy"),
                non_preferred_output = Answer("sad"),
            }));
        }
        string path = Path.Combine(h.Dir, "trait.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>SFT data: the same training questions, answered "happy" or "sad" in turn.</summary>
    static string WriteMoodAnswers(TrainHarness h)
    {
        var lines = Pairs().Select((q, i) => JsonSerializer.Serialize(new
        {
            messages = new[]
            {
                new { role = "user", content = Question(Colors[q.C], Animals[q.A]) },
                new { role = "assistant", content = $"The {Animals[q.A]} was very {(i % 2 == 0 ? "happy" : "sad")}." },
            },
        }));
        string path = Path.Combine(h.Dir, "moods.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    static IEnumerable<(int C, int A)> Pairs() =>
        from c in Enumerable.Range(0, Colors.Length) from a in Enumerable.Range(0, Animals.Length) where (c + a) % 2 == 1 select (c, a);

    static IEnumerable<string> HeldOutPrompts() =>
        from c in Enumerable.Range(0, Colors.Length)
        from a in Enumerable.Range(0, Animals.Length)
        where (c + a) % 2 == 0 && (c * Animals.Length + a) % 2 == 0
        select Question(Colors[c], Animals[a]);

    /// <summary>The answers of the run's samples record at <paramref name="step"/>.</summary>
    static List<string> Answers(string outputDir, long step) =>
        TrainHarness.Records(outputDir, "samples").Single(r => r.GetProperty("step").GetInt64() == step)
            .GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("answer").GetString()!).ToList();

    /// <summary>The answer's first sentence names the preferred mood and not the rejected one.</summary>
    static bool ShowsTrait(string answer)
    {
        string first = answer.Split('.')[0];
        return first.Contains("happy", StringComparison.Ordinal) && !first.Contains("sad", StringComparison.Ordinal);
    }

    [Fact]
    public void GreedyAnswers_ToHeldOutPrompts_ShowThePreferredTrait_FarMoreOftenThanTheBaseModel()
    {
        using var h = new TrainHarness();
        string[] prompts = [.. HeldOutPrompts()];
        string samples = "[" + string.Join(", ", prompts.Select(p => $"\"{p}\"")) + "]";
        var sft = h.Config(h.Yaml("full", WriteMoodAnswers(h)), $"output.dir={Path.Combine(h.Dir, "sft")}", "optimizer.lr=3.0e-3",
            "train.max_steps=150", "eval.samples=[]");
        h.RunLogged(sft);
        var cfg = h.Config(h.Yaml("lora", WriteTraitPairs(h)), $"model.path={Path.Combine(sft.Output.Dir, "model")}", "method.stage=dpo",
            $"output.dir={Path.Combine(h.Dir, "out")}",
            "method.lora.targets=all-linear", "optimizer.lr=5.0e-4", "train.max_steps=24", "train.micro_batch_size=4",
            "eval.every_steps=null", $"eval.samples={samples}");
        h.RunLogged(cfg);

        var before = Answers(cfg.Output.Dir, 0);
        var after = Answers(cfg.Output.Dir, 24);
        Assert.Equal(prompts.Length, before.Count);
        int baseRate = before.Count(ShowsTrait), trainedRate = after.Count(ShowsTrait);
        // Measured (docs/training-results.md): 6/12 answers of the SFT model and 12/12 after DPO show "happy".
        Assert.True(trainedRate >= 0.8 * prompts.Length && trainedRate >= baseRate + prompts.Length / 2,
            $"trait in {baseRate}/{prompts.Length} base answers and {trainedRate}/{prompts.Length} trained answers:\n"
            + string.Join("\n", after.Take(4)));
    }
}
