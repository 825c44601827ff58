using System.Diagnostics;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Models;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Report;
using TuneSharp.Training.Reward;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// A reward model (<c>method.stage: reward</c>) on chosen/rejected pairs, for every method type: the decoder with a new
/// scalar head <c>score</c> (always trained, fp32) on the last non-pad token of each row, trained with the Bradley-Terry
/// loss (<see cref="RewardObjective"/>, docs/methods.md). A micro-batch is <c>train.micro_batch_size</c> pairs, chosen and
/// rejected rows in one forward; the loss of a step is the mean over its pairs. Checkpoints (the head included), exact
/// resume and evaluation as in SFT; the output is a *ForSequenceClassification folder or a SEQ_CLS PEFT adapter.
/// </summary>
public static class RewardRecipe
{
    public static async Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct)
    {
        long? runtimeBytes = RunEstimates.RuntimeBaseline(); // libtorch up, no model yet: the memory estimate's baseline
        var clock = Stopwatch.StartNew();

        // ---- build: model + score head, pairs, batches, optimizer and schedule (the head is trained), cadence
        using var built = await RecipeParts.BuildModelAsync(cfg, run, ct);
        var model = built.Model;
        AttachHead(model.Model, cfg.Train.Seed);
        var data = PairDataSetup.Prepare(cfg, model.Tokenizer, built.ModelDir, PromptTruncation.KeepEnd, ct); // as DPO's default
        long padId = RewardModelFiles.PadIdOf(model.Tokenizer); // pooling finds each row's last token by it
        var plan = PairDataSetup.Plan(cfg, data.Train, (int)padId);
        var heldOut = new HeldOutObjective(PairDataSetup.Batches(data.Validation, cfg.Train.MicroBatchSize, (int)padId), cfg.Eval.MaxBatches);
        var objective = new RewardObjective(cfg.Method.Reward, padId);
        long totalSteps = plan.TotalSteps(cfg.Train);
        using var training = RecipeParts.Training(cfg, model, totalSteps, heldOut.HasData);
        var (optimizer, driver, cadence) = (training.Optimizer, training.Driver, training.Cadence);

        // ---- resume: only the same run, from the newest checkpoint that verifies (its weights include the head)
        var start = RecipeParts.Start(run, cfg, built.ModelDir, data.Fingerprint, model, optimizer);
        var (identity, resume, state) = start;

        // ---- estimates: the largest micro-batch measured, times the work still to come (a reward model generates no samples)
        var samples = new SamplePrompts([], data.Template);
        var estimate = RecipeParts.Estimate(cfg, model, plan, cadence, start, heldOut.Batches, samples, b => objective.Loss(model.Model, b),
            runtimeBytes, clock.Elapsed.TotalSeconds);
        var counts = new DataCounts(data.Train.Count, data.Validation.Count,
            data.Train.Sum(p => (long)p.ChosenCompletion.Length + p.RejectedCompletion.Length),
            data.Train.Sum(p => 2L * p.Prompt.Length + p.ChosenCompletion.Length + p.RejectedCompletion.Length));
        run.Observers.OnStart(RecipeParts.Info(cfg, run, built, totalSteps, plan.EpochsFor(totalSteps), state.Step, estimate, counts,
            data.TemplateName, ["examples are preference pairs; a scalar score head on the last token", .. data.Notes]));

        // ---- before: held-out pairwise metrics of the untouched head (a fresh run only)
        EvalMetrics? Evaluate(long step, bool best) => heldOut.HasData ? Eval(heldOut, objective, model, step, best) : null;
        var report = new RunReport(run.Observers, samples, estimate.PeakBytes, estimate.Seconds);
        if (resume is null) state = report.Before(state, model, () => Evaluate(0, best: false), ct);
        else CheckpointStore.RestoreRng(resume.Path); // last: nothing after it may draw from the training RNG

        // ---- the loop: one optimizer step per iteration, its loss the mean over the step's pairs
        model.Model.train();
        var record = new StepRecord(run.Observers, cadence, plan,
            new CheckpointTarget(run.Directory.Path, model, optimizer, run.Options.ResolvedYaml, identity, cfg.Output.KeepLast));
        state = record.Loop(state, totalSteps, clock, () => run.StopRequested,
            (step, batches) => driver.Step(step, batches, PairScores.Pairs, b => objective.Loss(model.Model, b)),
            step => Eval(heldOut, objective, model, step, best: false), ct);

        // ---- after: the reward model (classifier folder or SEQ_CLS adapter), held-out metrics of the trained head
        model.Model.eval();
        if (record.Status != RunStatus.Interrupted) run.Log.WriteLine($"saved {Save(run.Directory.Path, model, cfg, padId, run.Log)}");
        return report.Finish(record.Status, state, record.LastLoss, clock.Elapsed.TotalSeconds, model,
            () => record.LastEval?.Step == state.Step ? record.LastEval : Evaluate(state.Step, best: false));
    }

    /// <summary>The new score head (seeded by <c>train.seed</c>, trainable whatever the method type freezes). An untied
    /// lm_head is not part of a reward model: it is frozen, so the optimizer and checkpoints leave it out.</summary>
    static void AttachHead(CausalLM model, long seed)
    {
        var head = model.AddScoreHead(seed);
        head.Weight.requires_grad = true;
        foreach (var (name, p) in model.named_parameters())
            if (name == "lm_head.weight") p.requires_grad = false;
    }

    static EvalMetrics Eval(HeldOutObjective heldOut, RewardObjective objective, TrainableModel model, long step, bool best) =>
        heldOut.Metrics(model.Model, step, best, PairScores.Pairs, b => objective.Loss(model.Model, b, prefix: "eval_"));

    /// <summary>{output}/adapter (SEQ_CLS, the head in modules_to_save) for LoRA/DoRA/QLoRA, {output}/model
    /// (*ForSequenceClassification) for full/freeze, each with the tokenizer files and the trained chat template.</summary>
    static string Save(string outputDir, TrainableModel model, TrainConfig cfg, long padId, TextWriter log)
    {
        string? template = DataSetup.TrainedTemplate(cfg, model.Tokenizer)?.Source;
        if (model.Policy is { } policy)
        {
            string adapterDir = Path.Combine(outputDir, "adapter");
            foreach (string problem in RewardModelFiles.SaveAdapter(adapterDir, model.Model, policy.Settings, cfg.Model.Path, model.Directory, template))
                log.WriteLine($"note: {problem}");
            return adapterDir;
        }
        string dir = Path.Combine(outputDir, "model");
        RewardModelFiles.SaveFull(dir, model.Model, model.Directory, template, padId);
        return dir;
    }
}
