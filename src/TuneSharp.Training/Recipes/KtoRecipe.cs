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
/// Kahneman-Tversky optimization (<c>method.stage: kto</c>) on completions labelled desirable or undesirable (or
/// preference pairs, unpaired), against a reference policy (<see cref="Losses.Preference.IReferencePolicy.For"/>: the
/// model with its adapters disabled for LoRA, DoRA and QLoRA; a frozen copy of the starting weights for full and
/// freeze). A micro-batch is <c>train.micro_batch_size</c> examples plus their KL rows; each optimizer
/// step first estimates the KL reference point z0 over all its examples' KL rows, then steps on the mean KTO loss over
/// its examples (<see cref="KtoObjective"/>, docs/methods.md). Checkpoints, exact resume, evaluation and samples as in SFT.
/// </summary>
public static class KtoRecipe
{
    public static async Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct)
    {
        long? runtimeBytes = RunEstimates.RuntimeBaseline(); // libtorch up, no model yet: the memory estimate's baseline
        var clock = Stopwatch.StartNew();

        // ---- build: model, labelled completions, batches (with KL rows), optimizer and schedule, cadence
        using var built = await RecipeParts.BuildModelAsync(cfg, run, ct);
        var model = built.Model;
        var data = KtoDataSetup.Prepare(cfg, model.Tokenizer, built.ModelDir, ct);
        int padId = model.Tokenizer.PadTokenId ?? model.Tokenizer.EosTokenId ?? 0; // labels, not ids, decide the loss
        var plan = Plan(cfg, data.Train, padId);
        // Evaluation: one KL estimate per held-out batch (at least 2 examples), as TRL evaluates.
        var heldOut = new HeldOutObjective(KtoDataSetup.Batches(data.Validation, Math.Max(2, cfg.Train.MicroBatchSize), 1, cfg.Data.MaxSeqLen, padId),
            cfg.Eval.MaxBatches);
        using var objective = new KtoObjective(cfg.Method.Kto, IReferencePolicy.For(model));
        long totalSteps = plan.TotalSteps(cfg.Train);
        using var training = RecipeParts.Training(cfg, model, totalSteps, heldOut.HasData);
        var (optimizer, driver, cadence) = (training.Optimizer, training.Driver, training.Cadence);

        // ---- resume: only the same run, from the newest checkpoint that verifies
        var start = RecipeParts.Start(run, cfg, built.ModelDir, data.Fingerprint, model, optimizer);
        var (identity, resume, state) = start;

        // ---- estimates: the largest micro-batch measured (KL, policy and reference passes), times the work still to come
        var samples = new SamplePrompts(cfg.Eval.Samples, data.Template);
        MicroLoss Alone(TrainBatch b, string prefix = "") => objective.Loss(model.Model, b, objective.Kl(model.Model, [b]), prefix);
        var estimate = RecipeParts.Estimate(cfg, model, plan, cadence, start, heldOut.Batches, samples, b => Alone(b),
            runtimeBytes, clock.Elapsed.TotalSeconds);
        var counts = new DataCounts(data.Train.Count, data.Validation.Count,
            data.Train.Sum(e => (long)e.Completion.Length), data.Train.Sum(e => 2L * (e.Prompt.Length + e.Completion.Length)));
        var report = RecipeParts.Report(cfg, run, samples, estimate, ct);
        run.Observers.OnStart(RecipeParts.Info(cfg, run, built, totalSteps, plan.EpochsFor(totalSteps), state.Step, estimate, counts,
            data.TemplateName, ["examples are completions labelled desirable or undesirable", .. data.Notes, .. report.Notes]));

        // ---- before: held-out KTO metrics and samples of the untouched model (a fresh run only)
        EvalMetrics? Evaluate(long step, bool best) => heldOut.HasData ? Eval(heldOut, model, step, best, b => Alone(b, "eval_")) : null;
        if (resume is null) state = report.Before(state, model, () => Evaluate(0, best: false), ct);
        else CheckpointStore.RestoreRng(resume.Path); // last: nothing after it may draw from the training RNG

        // ---- the loop: one optimizer step per iteration: the step's KL estimate, then the mean loss over its examples
        model.Model.train();
        var record = new StepRecord(run.Observers, cadence, plan,
            new CheckpointTarget(run.Directory.Path, model, optimizer, run.Options.ResolvedYaml, identity, cfg.Output.KeepLast));
        state = record.Loop(state, totalSteps, clock, () => run.StopRequested, (step, batches) =>
        {
            double kl = objective.Kl(model.Model, batches); // one KL estimate per step, shared by its micro-batches
            var result = driver.Step(step, batches, KtoObjective.Completions, b => objective.Loss(model.Model, b, kl));
            return result with { Metrics = KtoObjective.WithMargins(result.Metrics) };
        }, step => Eval(heldOut, model, step, best: false, b => Alone(b, "eval_")), ct);

        // ---- after: outputs, held-out metrics and samples of the trained model
        model.Model.eval();
        if (record.Status != RunStatus.Interrupted) run.Log.WriteLine($"saved {FinalOutputs.Save(run.Directory.Path, model, cfg, run.Log)}");
        return report.Finish(record.Status, state, record.LastLoss, clock.Elapsed.TotalSeconds, model,
            () => record.LastEval?.Step == state.Step ? record.LastEval : Evaluate(state.Step, best: false));
    }

    /// <summary>The examples of an epoch in training order (shuffled by seed + epoch); each step's
    /// <c>train.micro_batch_size</c> x <c>train.grad_accum</c> examples share their KL rows and estimate.</summary>
    static BatchPlan Plan(TrainConfig cfg, IReadOnlyList<TokenizedCompletion> examples, int padId)
    {
        if (examples.Count < Math.Max(2, cfg.Train.MicroBatchSize))
            throw new ArgumentException($"train.micro_batch_size ({cfg.Train.MicroBatchSize}) is larger than the training set ({examples.Count} examples after tokenization; KTO needs at least 2)");
        return new BatchPlan(cfg.Train.GradAccum, epoch => KtoDataSetup.Batches(
            BatchPlan.Order(examples, cfg.Train.Seed, epoch, cfg.Data.Shuffle).Order, cfg.Train.MicroBatchSize, cfg.Train.GradAccum, cfg.Data.MaxSeqLen, padId));
    }

    /// <summary>Held-out examples: the KTO loss and TRL's metrics prefixed <c>eval_</c> (margins from the side means).</summary>
    static EvalMetrics Eval(HeldOutObjective heldOut, TrainableModel model, long step, bool best, Func<TrainBatch, MicroLoss> loss) =>
        heldOut.Metrics(model.Model, step, best, KtoObjective.Completions, loss, m => KtoObjective.WithMargins(m, "eval_"));
}
