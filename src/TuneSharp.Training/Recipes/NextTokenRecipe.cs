using System.Diagnostics;
using TuneSharp.Data.Batching;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Outputs;
using TuneSharp.Training.Report;
using TuneSharp.Training.Runtime;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// Next-token training, for supervised fine-tuning on conversations (<c>method.stage: sft</c>) and continued
/// pretraining on raw text (<c>pretrain</c>), with every method (full, freeze, LoRA, DoRA, QLoRA). The loss of a step is
/// the sum over its trained tokens divided by the trained tokens of the whole step (docs/training-math.md).
/// </summary>
public static class NextTokenRecipe
{
    public static async Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct)
    {
        long? runtimeBytes = RunEstimates.RuntimeBaseline(); // libtorch up, no model yet: the memory estimate's baseline
        var clock = Stopwatch.StartNew();

        // ---- build: model, data, batches, optimizer and schedule, cadence
        using var built = await RecipeParts.BuildModelAsync(cfg, run, ct);
        var model = built.Model;
        var data = DataSetup.Prepare(cfg, model.Tokenizer, built.ModelDir, ct: ct);
        int padId = model.Tokenizer.PadTokenId ?? model.Tokenizer.EosTokenId ?? 0; // labels, not ids, decide the loss
        var plan = BatchPlan.For(cfg, data.Train, padId);
        var heldOut = new HeldOutLoss(BatchPlan.Evaluation(data.Validation, cfg.Train.MicroBatchSize, padId), cfg.Eval.MaxBatches);
        long totalSteps = plan.TotalSteps(cfg.Train);
        using var training = RecipeParts.Training(cfg, model, totalSteps, heldOut.HasData);
        var (optimizer, driver, cadence) = (training.Optimizer, training.Driver, training.Cadence);

        // ---- resume: only the same run, from the newest checkpoint that verifies
        var start = RecipeParts.Start(run, cfg, built.ModelDir, data.Fingerprint, model, optimizer);
        var (identity, resume, state) = start;

        // ---- estimates: the largest micro-batch measured (no trace left), times the work still to come
        var samples = new SamplePrompts(cfg.Eval.Samples, data.ChatTemplate);
        var estimate = RecipeParts.Estimate(cfg, model, plan, cadence, start, heldOut.Batches, samples, b => NextTokenLoss(model, b),
            runtimeBytes, clock.Elapsed.TotalSeconds);
        var counts = new DataCounts(data.Train.Count, data.Validation.Count, data.Train.Sum(s => (long)s.TrainedCount), data.Train.Sum(s => (long)s.Length));
        var report = RecipeParts.Report(cfg, run, samples, estimate, ct);
        run.Observers.OnStart(RecipeParts.Info(cfg, run, built, totalSteps, plan.EpochsFor(totalSteps), state.Step, estimate, counts,
            data.TemplateName, [.. data.Notes, .. report.Notes]));

        // ---- before: held-out loss and samples of the untouched model (a fresh run only)
        if (resume is null) state = report.Before(state, model, () => Evaluate(model, heldOut, 0, best: false), ct);
        else CheckpointStore.RestoreRng(resume.Path); // last: nothing after it may draw from the training RNG

        // ---- the loop: one optimizer step per iteration
        model.Model.train();
        var record = new StepRecord(run.Observers, cadence, plan,
            new CheckpointTarget(run.Directory.Path, model, optimizer, run.Options.ResolvedYaml, identity, cfg.Output.KeepLast));
        state = record.Loop(state, totalSteps, clock, () => run.StopRequested,
            (step, batches) => driver.Step(step, batches, b => b.TrainedTokens, b => NextTokenLoss(model, b)),
            step => Evaluate(model, heldOut, step, best: false)!, ct);

        // ---- after: outputs, held-out loss and samples of the trained model
        model.Model.eval();
        if (record.Status != RunStatus.Interrupted) run.Log.WriteLine($"saved {FinalOutputs.Save(run.Directory.Path, model, cfg, run.Log)}");
        return report.Finish(record.Status, state, record.LastLoss, clock.Elapsed.TotalSeconds, model,
            () => record.LastEval?.Step == state.Step ? record.LastEval : Evaluate(model, heldOut, state.Step, best: false));
    }

    /// <summary>Forward of one micro-batch: the summed next-token loss over its trained tokens.</summary>
    static MicroLoss NextTokenLoss(TrainableModel model, TrainBatch b)
    {
        var t = BatchTensors.Of(b, model.Device);
        var hidden = model.Model.Hidden(t.Ids, t.Positions, segmentIds: t.Segments);
        return new MicroLoss(CausalLmLoss.Compute(hidden, model.Model.LmHeadWeight, t.Labels).SumLoss);
    }

    static EvalMetrics? Evaluate(TrainableModel model, HeldOutLoss heldOut, long step, bool best)
    {
        if (!heldOut.HasData) return null;
        var s = heldOut.Evaluate(model.Model);
        return new EvalMetrics(step, s.Loss, s.Perplexity, s.Accuracy, s.Tokens, best);
    }
}
