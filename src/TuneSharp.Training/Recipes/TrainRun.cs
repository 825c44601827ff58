using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Training.Config;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Runtime;

namespace TuneSharp.Training.Recipes;

/// <summary>How a run is started (from the CLI, a test or a host process).</summary>
public sealed record TrainRunOptions
{
    /// <summary>The resolved config as YAML, written next to the outputs and into every checkpoint.</summary>
    public required string ResolvedYaml { get; init; }
    /// <summary>`--resume`: like `output.resume: force`; also allows the safe config changes (see docs/cli/train.md).</summary>
    public bool ForceResume { get; init; }
    public IReadOnlyList<ITrainingObserver> Observers { get; init; } = [];
    /// <summary>A graceful stop: the current step finishes, a checkpoint is written and the run returns "interrupted".</summary>
    public StopSignal? Stop { get; init; }
    public IProgress<DownloadProgress>? DownloadProgress { get; init; }
    public TextWriter Log { get; init; } = TextWriter.Null;
}

/// <summary>What every recipe is given: the options, the locked output folder and the observers.</summary>
public sealed record RunContext(TrainRunOptions Options, RunDirectory Directory, ITrainingObserver Observers)
{
    /// <summary>What the checks before the model loads found (the data safety scan), shown with the start notes.</summary>
    public IReadOnlyList<string> PreflightNotes { get; init; } = [];
    public bool StopRequested => Options.Stop?.Requested == true;
    public TextWriter Log => Options.Log;
}

/// <summary>
/// Starts a training run: locks the output folder, hands it to the recipe of <c>method.stage</c>, and records how the run
/// ended (a run that fails before its first checkpoint in a folder it created leaves nothing behind).
/// </summary>
public static class TrainRun
{
    public static async Task<RunSummary> RunAsync(TrainConfig cfg, TrainRunOptions options, CancellationToken ct = default)
    {
        TorchRuntime.Initialize();
        using var directory = RunDirectory.Open(cfg.Output.Dir);
        using var observers = new CompositeObserver(options.Observers);
        try
        {
            var run = new RunContext(options, directory, observers) { PreflightNotes = Setup.DataSafetyCheck.Run(cfg, ct) };
            var summary = await (cfg.Method.Stage switch
            {
                // Pretraining is next-token training on raw-text windows: the same recipe, other data (DataSetup).
                Stage.Sft or Stage.Pretrain => NextTokenRecipe.RunAsync(cfg, run, ct),
                Stage.Dpo => DpoRecipe.RunAsync(cfg, run, ct),
                Stage.Orpo => OrpoRecipe.RunAsync(cfg, run, ct),
                Stage.Simpo => SimPoRecipe.RunAsync(cfg, run, ct),
                Stage.Kto => KtoRecipe.RunAsync(cfg, run, ct),
                Stage.Reward => RewardRecipe.RunAsync(cfg, run, ct),
                var other => throw new NotSupportedException($"method.stage {ConfigNames.Of(other)} has no recipe"),
            });
            directory.Record(summary.Status, summary.Steps);
            return summary;
        }
        catch
        {
            directory.Abandon(Checkpoints.CheckpointStore.LatestStep(directory.Path) ?? 0);
            throw;
        }
    }
}
