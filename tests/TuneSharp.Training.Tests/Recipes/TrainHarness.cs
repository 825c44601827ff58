using System.Text.Json;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using TuneSharp.Training.Config;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Recipes;
using TuneSharp.Training.Runtime;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>Small real training runs on stories260K (a real 260K-parameter checkpoint) with generated data.</summary>
public sealed class TrainHarness : IDisposable
{
    public TrainHarness() => Dir = Directory.CreateTempSubdirectory("tunesharp-train").FullName;

    public string Dir { get; }

    public static string ModelDir => Fixtures.Get("models/stories260K-hf");

    /// <summary>A chat JSONL of simple stories: the assistant continues "Once upon a time there was a {animal} ...".</summary>
    public string WriteChatData(int count, string name = "train.jsonl")
    {
        string[] animals = ["cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck"];
        string[] colors = ["red", "blue", "green", "big", "small", "happy"];
        var lines = Enumerable.Range(0, count).Select(i =>
        {
            string a = animals[i % animals.Length], c = colors[(i / animals.Length) % colors.Length];
            var msg = new object[]
            {
                new { role = "user", content = $"Tell me a story about a {c} {a}." },
                // Lengths vary a lot (1-6 extra sentences) so micro-batches hold very different numbers of trained tokens.
                new { role = "assistant", content = $"Once upon a time there was a {c} {a}." + string.Concat(Enumerable.Repeat($" The {a} liked to play.", 1 + i * 5 % 6)) },
            };
            return JsonSerializer.Serialize(new { messages = msg });
        });
        string path = Path.Combine(Dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>
    /// Preference pairs in the OpenAI DPO JSONL format, with one clear trait: the chosen story ends happily ("The {a} was
    /// very happy."), the rejected one sadly; prompts (color x animal) and story lengths vary.
    /// </summary>
    public string WritePreferenceData(int count, string name = "pairs.jsonl")
    {
        string[] animals = ["cat", "dog", "bird", "fish", "frog", "bear", "lion", "duck"];
        string[] colors = ["red", "blue", "green", "big", "small", "old"];
        var lines = Enumerable.Range(0, count).Select(i =>
        {
            string a = animals[i % animals.Length], c = colors[(i / animals.Length) % colors.Length];
            string story = $"Once upon a time there was a {c} {a}." + string.Concat(Enumerable.Repeat($" The {a} went to the park.", 1 + i % 3));
            object Answer(string end) => new[] { new { role = "assistant", content = $"{story} The {a} was very {end}." } };
            return JsonSerializer.Serialize(new
            {
                input = new { messages = new[] { new { role = "user", content = $"Tell me a story about a {c} {a}." } } },
                preferred_output = Answer("happy"),
                non_preferred_output = Answer("sad"),
            });
        });
        string path = Path.Combine(Dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>The records of one type ("step", "eval") in metrics.jsonl.</summary>
    public static List<JsonElement> Records(string outputDir, string type) =>
        File.ReadLines(Path.Combine(outputDir, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == type)
            .ToList();

    /// <summary>A raw-text corpus of about <paramref name="chars"/> characters (for pretraining).</summary>
    public string WriteText(int chars, string name = "corpus.txt")
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; sb.Length < chars; i++)
            sb.Append($"Once upon a time there was a little {(i % 2 == 0 ? "cat" : "dog")} called number {i}. It liked to play in the sun. ");
        string path = Path.Combine(Dir, name);
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>The forgetting check (general benchmarks before and after) is off unless a test turns it on.</summary>
    public TrainConfig Config(string yaml, params string[] overrides) =>
        ConfigLoader.Parse(yaml, Path.Combine(Dir, "test.yaml"), ["eval.benchmarks=[]", .. overrides]);

    /// <summary>
    /// A config for stories260K with everything but the method chosen; fp32 so results are exact. Conversations are
    /// rendered with chatml; <paramref name="chatTemplate"/> false keeps `auto` (pretraining refuses any other).
    /// </summary>
    public string Yaml(string method, string data, string extra = "", bool chatTemplate = true) => $"""
        model:
          path: {ModelDir}
          dtype: fp32
        method:
          type: {method}
        data:
          datasets:
            - path: {data}
          template: {(chatTemplate ? "chatml" : "auto")}
          max_seq_len: 128
        optimizer:
          lr: 1.0e-3
        schedule:
          type: constant
        train:
          max_steps: 3
          micro_batch_size: 4
          seed: 7
        output:
          dir: {Path.Combine(Dir, "out")}
        logging:
          progress: none
          tensorboard: false
          plot: false
        {extra}
        """;

    public RunSummary Run(TrainConfig cfg, params ITrainingObserver[] observers) => Run(cfg, resume: false, observers);

    /// <summary>A run; <paramref name="resume"/> is the CLI's --resume.</summary>
    public RunSummary Run(TrainConfig cfg, bool resume, params ITrainingObserver[] observers) =>
        TrainRun.RunAsync(cfg, new TrainRunOptions
        {
            ResolvedYaml = ConfigLoader.ToYaml(cfg),
            ForceResume = resume,
            Observers = observers.Length > 0 ? observers : ObserverFactory.Create(cfg.Logging, Path.GetFullPath(cfg.Output.Dir), TextWriter.Null),
        }).GetAwaiter().GetResult();

    /// <summary>A run with the config's own observers (metrics.jsonl, summary), stopped gracefully after step
    /// <paramref name="stopAt"/> when given; <paramref name="log"/> receives the resume/warning lines.</summary>
    public RunSummary RunLogged(TrainConfig cfg, bool resume = false, long? stopAt = null, TextWriter? log = null)
    {
        var stop = new StopSignal(); // a plain request: no signal handlers in the test host
        var observers = ObserverFactory.Create(cfg.Logging, Path.GetFullPath(cfg.Output.Dir), TextWriter.Null).ToList();
        if (stopAt is { } s) observers.Add(new StopAtStep(stop, s));
        return TrainRun.RunAsync(cfg, new TrainRunOptions
        {
            ResolvedYaml = ConfigLoader.ToYaml(cfg),
            ForceResume = resume,
            Observers = observers,
            Stop = stop,
            Log = log ?? TextWriter.Null,
        }).GetAwaiter().GetResult();
    }

    /// <summary>The step losses recorded in metrics.jsonl.</summary>
    public static List<double> StepLosses(string outputDir) =>
        File.ReadLines(Path.Combine(outputDir, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "step")
            .Select(e => e.GetProperty("loss").GetDouble())
            .ToList();

    /// <summary>Tensors of the newest checkpoint's trainable weights.</summary>
    public static Dictionary<string, Tensor> CheckpointWeights(string outputDir)
    {
        string latest = Checkpoints.CheckpointStore.Latest(outputDir) ?? throw new InvalidOperationException("no checkpoint");
        using var f = SafeTensorsFile.Open(Path.Combine(latest, "trainable.safetensors"));
        return f.Tensors.Keys.ToDictionary(k => k, k => f.Load(k));
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
