using System.Text.Json;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Recipes;
using static TorchSharp.torch;

namespace TuneSharp.Bench.Train;

/// <summary>One TuneSharp run in a fresh process: the real trainer (<see cref="TrainRun.RunAsync"/>) on the row's config.</summary>
public static class TrainerChild
{
    /// <summary>Per-step wall time and loss from <see cref="StepMetrics"/>, RSS read right after each step.</summary>
    public sealed record Step(double Seconds, double Loss, long Tokens, long RssBytes, long PeakRssBytes);

    public sealed record Result(string Side, int Threads, double? EstimatedPeakBytes, IReadOnlyList<Step> Steps, long PeakRssBytes);

    /// <summary><c>child --config train.yaml --output-dir DIR --out result.json</c></summary>
    public static async Task<int> RunAsync(string configPath, string outputDir, string resultPath)
    {
        var cfg = ConfigLoader.Load(configPath, [$"output.dir={outputDir}"]);
        var recorder = new Recorder();
        await TrainRun.RunAsync(cfg, new TrainRunOptions
        {
            ResolvedYaml = ConfigLoader.ToYaml(cfg),
            Observers = [recorder],
            Log = Console.Error,
        });
        // Peak RSS of the training steps: VmHWM after the last step, before the final checkpoint is written.
        var result = new Result("tunesharp", get_num_threads(), recorder.Estimate, recorder.Steps, recorder.Steps[^1].PeakRssBytes);
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result, Json.Options));
        return 0;
    }

    sealed class Recorder : ITrainingObserver
    {
        public double? Estimate { get; private set; }
        public List<Step> Steps { get; } = [];

        public void OnStart(RunInfo info) => Estimate = info.EstimatedPeakMemoryBytes;

        public void OnStep(StepMetrics m)
        {
            Steps.Add(new Step(m.StepSeconds, m.Loss, m.Tokens, ProcessMemory.CurrentRssBytes() ?? 0, ProcessMemory.PeakRssBytes() ?? 0));
            Console.Error.WriteLine($"step {m.Step}: {m.StepSeconds:F2} s, loss {m.Loss:F4}");
        }

        public void OnEval(EvalMetrics metrics) { }
        public void OnCheckpoint(long step, string path) { }
        public void OnEnd(RunSummary summary) { }
        public void Dispose() { }
    }
}

/// <summary>JSON settings shared by the harness's files (snake_case, like metrics.jsonl).</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
