using TuneSharp.Core.Hub;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Report;
using TuneSharp.Training.Runtime;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Recipes;

/// <summary>The model of a run, where it came from and where it lives. Owns the model.</summary>
public sealed record RecipeModel(string ModelDir, Device Device, TrainableModel Model) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>The training machinery every recipe steps with: the optimizer (owned), the step driver and the cadence.</summary>
public sealed record RecipeTraining(IOptimizer Optimizer, StepDriver Driver, RunCadence Cadence) : IDisposable
{
    public void Dispose() => Optimizer.Dispose();
}

/// <summary>What the start notice says about the data: examples (samples or pairs) and tokens per epoch.</summary>
public readonly record struct DataCounts(int Train, int Validation, long TrainedTokensPerEpoch, long TokensPerEpoch);

/// <summary>Where a run starts: its identity (checkpoints carry it) and, when resuming, the accepted checkpoint and its state.</summary>
public sealed record RecipeStart(RunIdentity Identity, ResumePoint? Resume, TrainerState State);

/// <summary>
/// The parts every recipe (next-token, DPO, ...) builds the same way, in the order a recipe uses them: model, training
/// machinery, resume, the start notice. What differs between recipes (data, batches, the loss) stays in the recipe.
/// </summary>
public static class RecipeParts
{
    /// <summary>Seeds the training RNG, resolves the model (local folder or hub id) and the device, builds the model for
    /// <c>method.type</c> with <c>train.grad_checkpointing</c>.</summary>
    public static async Task<RecipeModel> BuildModelAsync(TrainConfig cfg, RunContext run, CancellationToken ct)
    {
        manual_seed(cfg.Train.Seed);
        string modelDir = await ModelLocator.ResolveAsync(cfg.Model.Path, progress: run.Options.DownloadProgress, ct: ct);
        var device = DeviceSetup.Resolve(cfg.Model.Device);
        var model = ModelSetup.Build(cfg, modelDir, DeviceSetup.ResolveDType(cfg.Model.DType, device), device);
        model.Model.GradientCheckpointing = cfg.Train.GradCheckpointing;
        ct.ThrowIfCancellationRequested();
        return new RecipeModel(modelDir, device, model);
    }

    /// <summary>Optimizer and schedule of <c>optimizer:</c>/<c>schedule:</c>, clipping of <c>train.max_grad_norm</c>, and
    /// the eval/checkpoint/stop cadence over <paramref name="totalSteps"/>.</summary>
    public static RecipeTraining Training(TrainConfig cfg, TrainableModel model, long totalSteps, bool hasValidation)
    {
        var optimizer = OptimizerSetup.Build(cfg, model);
        var driver = new StepDriver(model.Trainable, optimizer, OptimizerSetup.Schedule(cfg.Schedule), cfg.Optimizer.Lr,
            cfg.Train.MaxGradNorm, totalSteps);
        return new RecipeTraining(optimizer, driver, new RunCadence(cfg.Eval, cfg.Output, totalSteps, hasValidation));
    }

    /// <summary>Resume only the same run (config, model and data fingerprints), from the newest checkpoint that verifies;
    /// its weights and optimizer state are loaded here (the RNG is restored last, by the recipe).</summary>
    public static RecipeStart Start(RunContext run, TrainConfig cfg, string modelDir, string dataFingerprint, TrainableModel model, IOptimizer optimizer)
    {
        var identity = new RunIdentity(RunIdentity.FlattenConfig(run.Options.ResolvedYaml), RunIdentity.ModelFingerprintOf(modelDir), dataFingerprint);
        var resume = run.Directory.Accept(identity, run.Options.ResolvedYaml, cfg.Output.Resume, run.Options.ForceResume, run.Log);
        var state = resume is null ? TrainerState.Start : CheckpointStore.Load(resume.Path, model, optimizer);
        if (resume is not null) run.Log.WriteLine($"resuming from {resume.Path} (step {state.Step})");
        return new RecipeStart(identity, resume, state);
    }

    /// <summary>
    /// The run's estimates: the recipe's loss measured on the largest (the activation peak) and the smallest micro-batch
    /// of the plan (no trace left, <see cref="StepProbe"/>), times the work still to come: remaining training tokens and
    /// micro-batches, evaluation passes over <paramref name="evalBatches"/>, sample generation (before and after a fresh
    /// run, after a resumed one).
    /// </summary>
    public static RunEstimate Estimate(TrainConfig cfg, TrainableModel model, BatchPlan plan, RunCadence cadence, RecipeStart start,
        IReadOnlyList<Data.Batching.TrainBatch> evalBatches, SamplePrompts samples, Func<Data.Batching.TrainBatch, MicroLoss> loss, long? runtimeBytes, double startupSeconds)
    {
        var epoch = plan.EpochBatches(0);
        var probe = StepProbe.Measure(model, loss, epoch.MaxBy(b => (long)b.Rows * b.Length)!, epoch.MinBy(b => (long)b.Rows * b.Length)!);
        long stepsLeft = plan.TotalSteps(cfg.Train) - start.State.Step;
        bool fresh = start.Resume is null;
        var workload = new RunWorkload(plan.PaddedTokens(stepsLeft), (double)epoch.Count * stepsLeft / plan.StepsPerEpoch,
            cadence.EvalPasses(start.State.Step, baseline: fresh), evalBatches.Sum(b => (double)b.Rows * b.Length), evalBatches.Count,
            samples.MaxDecodeSteps * (fresh ? 2 : 1));
        return RunEstimates.For(cfg, model, runtimeBytes, workload, probe, startupSeconds);
    }

    /// <summary>The before/after report of a generative run, its forgetting check resolved now (a benchmark the user
    /// named that cannot be found fails the run before any step; the check's notes go into the start notice).</summary>
    public static RunReport Report(TrainConfig cfg, RunContext run, SamplePrompts samples, RunEstimate estimate, CancellationToken ct)
    {
        var notes = new List<string>();
        var check = Forgetting.ForgettingCheck.For(cfg, run.Directory.Path, notes, ct);
        return new RunReport(run.Observers, samples, estimate.PeakBytes, estimate.Seconds, check, run.Log) { Notes = notes };
    }

    /// <summary>The start notice, the same for every recipe; <paramref name="data"/> counts the recipe's examples
    /// (samples, or pairs) and their trained and total tokens per epoch.</summary>
    public static RunInfo Info(TrainConfig cfg, RunContext run, RecipeModel m, long totalSteps, int epochs, long startStep, RunEstimate estimate,
        DataCounts data, string templateName, IEnumerable<string> dataNotes) => new()
    {
        TrainExamples = data.Train,
        ValidationExamples = data.Validation,
        TrainedTokensPerEpoch = data.TrainedTokensPerEpoch,
        TokensPerEpoch = data.TokensPerEpoch,
        OutputDir = run.Directory.Path,
        ModelName = cfg.Model.Path,
        Method = $"{ConfigNames.Of(cfg.Method.Stage)} {ConfigNames.Of(cfg.Method.Type)}",
        TotalParameters = m.Model.TotalParameters,
        TrainableParameters = m.Model.TrainableParameterCount,
        TotalSteps = totalSteps,
        Epochs = epochs,
        StartStep = startStep,
        EstimatedPeakMemoryBytes = estimate.PeakBytes,
        EstimatedSeconds = estimate.Seconds,
        Notes = [$"template: {templateName}", $"device: {m.Device}, dtype: {m.Model.DType}", .. estimate.Describe(), .. dataNotes, .. run.PreflightNotes],
    };
}
