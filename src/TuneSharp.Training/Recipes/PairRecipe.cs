using System.Diagnostics;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Outputs;
using TuneSharp.Training.Report;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// The training loop of the preference methods on chosen/rejected pairs (DPO, ORPO, SimPO: <see cref="DpoRecipe"/>,
/// <see cref="OrpoRecipe"/>, <see cref="SimPoRecipe"/>), which differ only in their <see cref="IPairObjective"/>. A
/// micro-batch is <c>train.micro_batch_size</c> pairs, chosen and rejected rows in one forward; the loss of a step is
/// the mean over its pairs (docs/methods.md). Checkpoints, exact resume, evaluation and samples as in SFT. An objective
/// that needs a reference policy brings it (<see cref="IReferencePolicy"/>), built for the loaded model.
/// </summary>
public static class PairRecipe
{
    /// <param name="promptTruncation">The stage section's <c>prompt_truncation</c>: which end of a long prompt is kept.</param>
    /// <param name="objectiveFor">The stage's objective for the built model (disposed with the run when disposable).</param>
    public static async Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, Func<TrainableModel, IPairObjective> objectiveFor,
        PromptTruncation promptTruncation, CancellationToken ct)
    {
        long? runtimeBytes = RunEstimates.RuntimeBaseline(); // libtorch up, no model yet: the memory estimate's baseline
        var clock = Stopwatch.StartNew();

        // ---- build: model, pairs, batches, optimizer and schedule, cadence
        using var built = await RecipeParts.BuildModelAsync(cfg, run, ct);
        var model = built.Model;
        var objective = objectiveFor(model);
        using var owned = objective as IDisposable;
        var data = objective.Prepare(PairDataSetup.Prepare(cfg, model.Tokenizer, built.ModelDir, promptTruncation, ct), model, cfg, ct);
        int padId = model.Tokenizer.PadTokenId ?? model.Tokenizer.EosTokenId ?? 0; // labels, not ids, decide the loss
        var plan = PairDataSetup.Plan(cfg, data.Train, padId);
        var heldOut = new HeldOutObjective(PairDataSetup.Batches(data.Validation, cfg.Train.MicroBatchSize, padId), cfg.Eval.MaxBatches);
        long totalSteps = plan.TotalSteps(cfg.Train);
        using var training = RecipeParts.Training(cfg, model, totalSteps, heldOut.HasData);
        var (optimizer, driver, cadence) = (training.Optimizer, training.Driver, training.Cadence);

        // ---- resume: only the same run, from the newest checkpoint that verifies
        var start = RecipeParts.Start(run, cfg, built.ModelDir, data.Fingerprint, model, optimizer);
        var (identity, resume, state) = start;

        // ---- estimates: the largest micro-batch measured (the objective's passes), times the work still to come
        var samples = new SamplePrompts(cfg.Eval.Samples, data.Template);
        var estimate = RecipeParts.Estimate(cfg, model, plan, cadence, start, heldOut.Batches, samples, b => objective.Loss(model.Model, b),
            runtimeBytes, clock.Elapsed.TotalSeconds);
        var counts = new DataCounts(data.Train.Count, data.Validation.Count,
            data.Train.Sum(p => (long)p.ChosenCompletion.Length + p.RejectedCompletion.Length),
            data.Train.Sum(p => 2L * p.Prompt.Length + p.ChosenCompletion.Length + p.RejectedCompletion.Length));
        var report = RecipeParts.Report(cfg, run, samples, estimate, ct);
        run.Observers.OnStart(RecipeParts.Info(cfg, run, built, totalSteps, plan.EpochsFor(totalSteps), state.Step, estimate, counts,
            data.TemplateName, ["examples are preference pairs", .. data.Notes, .. report.Notes]));

        // ---- before: held-out preference metrics and samples of the untouched model (a fresh run only)
        EvalMetrics? Evaluate(long step, bool best) => heldOut.HasData ? Eval(heldOut, objective, model, step, best) : null;
        if (resume is null) state = report.Before(state, model, () => Evaluate(0, best: false), ct);
        else CheckpointStore.RestoreRng(resume.Path); // last: nothing after it may draw from the training RNG

        // ---- the loop: one optimizer step per iteration, its loss the mean over the step's pairs
        model.Model.train();
        var record = new StepRecord(run.Observers, cadence, plan,
            new CheckpointTarget(run.Directory.Path, model, optimizer, run.Options.ResolvedYaml, identity, cfg.Output.KeepLast));
        state = record.Loop(state, totalSteps, clock, () => run.StopRequested,
            (step, batches) => driver.Step(step, batches, PairScores.Pairs, b => objective.Loss(model.Model, b)),
            step => Eval(heldOut, objective, model, step, best: false), ct);

        // ---- after: outputs, held-out metrics and samples of the trained model
        model.Model.eval();
        if (record.Status != RunStatus.Interrupted) run.Log.WriteLine($"saved {FinalOutputs.Save(run.Directory.Path, model, cfg, run.Log)}");
        return report.Finish(record.Status, state, record.LastLoss, clock.Elapsed.TotalSeconds, model,
            () => record.LastEval?.Step == state.Step ? record.LastEval : Evaluate(state.Step, best: false));
    }

    static EvalMetrics Eval(HeldOutObjective heldOut, IPairObjective objective, TrainableModel model, long step, bool best) =>
        heldOut.Metrics(model.Model, step, best, PairScores.Pairs, b => objective.Loss(model.Model, b, prefix: "eval_"));
}
