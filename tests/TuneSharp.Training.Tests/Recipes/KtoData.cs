using System.Text.Json;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>KTO test data: unpaired completions (TRL's prompt/completion/label JSONL) with one clear trait.</summary>
public static class KtoData
{
    /// <summary>
    /// <paramref name="count"/> stories, each prompt with ONE completion: desirable ones (even i, label true) end happily
    /// ("The {a} was very happy."), undesirable ones (odd i) sadly; prompts (color x animal) and story lengths vary.
    /// <paramref name="label"/> forces one label on every line.
    /// </summary>
    public static string Write(TrainHarness h, int count, string name = "kto.jsonl", bool? label = null)
    {
        string[] animals = ["cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck"];
        string[] colors = ["red", "blue", "green", "big", "small", "old"];
        var lines = Enumerable.Range(0, count).Select(i =>
        {
            string a = animals[i % animals.Length], c = colors[(i / animals.Length) % colors.Length];
            bool good = label ?? i % 2 == 0;
            string story = $"Once upon a time there was a {c} {a}." + string.Concat(Enumerable.Repeat($" The {a} went to the park.", 1 + i % 3));
            return JsonSerializer.Serialize(new
            {
                prompt = new[] { new { role = "user", content = $"Tell me a story about a {c} {a}." } },
                completion = new[] { new { role = "assistant", content = $"{story} The {a} was very {(good ? "happy" : "sad")}." } },
                label = good,
            });
        });
        string path = Path.Combine(h.Dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
