using TuneSharp.Data.Batching;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Runtime;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Loop;

/// <summary>
/// What every recipe does after an optimizer step, in this order: advance the trainer state, observe the step,
/// evaluate when due (recording the best), decide the status (interrupted, early-stopped), and checkpoint when due.
/// Holds the last loss, the last evaluation and the status for the loop and the run report.
/// </summary>
public sealed class StepRecord(ITrainingObserver observers, RunCadence cadence, BatchPlan plan, CheckpointTarget checkpoints)
{
    public RunStatus Status { get; private set; } = RunStatus.Completed;
    public double? LastLoss { get; private set; }
    public EvalMetrics? LastEval { get; private set; }

    /// <param name="trainedTokens">Tokens that carried the loss in this step.</param>
    /// <param name="elapsedSeconds">Wall time of the whole run so far (resumed runs included).</param>
    /// <param name="stopRequested">Read after the step is observed (an observer may ask to stop).</param>
    /// <param name="evaluate">The recipe's held-out evaluation at a step (IsBest is set here).</param>
    /// <summary>
    /// The loop every recipe runs: one optimizer step per iteration until <paramref name="totalSteps"/>, an early stop
    /// or an interruption. <paramref name="step"/> takes the step number and its micro-batches (from the plan) and
    /// returns the driver's result; each step is then recorded by <see cref="After"/>. Returns the state after the last step.
    /// </summary>
    public TrainerState Loop(TrainerState state, long totalSteps, System.Diagnostics.Stopwatch runClock, Func<bool> stopRequested,
        Func<long, IReadOnlyList<TrainBatch>, StepResult> step, Func<long, EvalMetrics> evaluate, CancellationToken ct)
    {
        double elapsedBefore = state.ElapsedSeconds;
        while (state.Step < totalSteps && Status == RunStatus.Completed)
        {
            ct.ThrowIfCancellationRequested();
            var stepClock = System.Diagnostics.Stopwatch.StartNew();
            var batches = plan.StepBatches(state.Step);
            var result = step(state.Step, batches);
            state = After(state, result, batches, batches.Sum(b => (long)b.TrainedTokens), stepClock.Elapsed.TotalSeconds,
                elapsedBefore + runClock.Elapsed.TotalSeconds, stopRequested, evaluate);
        }
        return state;
    }

    public TrainerState After(TrainerState state, StepResult result, IReadOnlyList<TrainBatch> batches, long trainedTokens,
        double stepSeconds, double elapsedSeconds, Func<bool> stopRequested, Func<long, EvalMetrics> evaluate)
    {
        long step = state.Step + 1;
        long tokens = batches.Sum(b => (long)b.RealTokens);
        LastLoss = result.Loss;
        state = state with { Step = step, TrainedTokens = state.TrainedTokens + trainedTokens, ElapsedSeconds = elapsedSeconds };
        observers.OnStep(new StepMetrics(step, plan.EpochOf(step), result.Loss, result.LearningRate, result.GradNorm,
            trainedTokens, tokens, stepSeconds, tokens / Math.Max(stepSeconds, 1e-9)) { Metrics = result.Metrics });

        if (cadence.EvalDue(step))
        {
            var score = evaluate(step);
            (state, bool best) = cadence.RecordEval(state, step, score.Loss);
            LastEval = score with { IsBest = best };
            observers.OnEval(LastEval);
        }
        Status = cadence.StatusAfter(state, stopRequested()); // read after the observers: they may ask to stop
        if (cadence.CheckpointDue(step, Status))
            observers.OnCheckpoint(step, CheckpointStore.Save(checkpoints.OutputDir, checkpoints.Model, checkpoints.Optimizer, state,
                checkpoints.ResolvedYaml, checkpoints.Identity, checkpoints.KeepLast, state.BestStep));
        return state;
    }
}

/// <summary>Where and what a run checkpoints.</summary>
public sealed record CheckpointTarget(string OutputDir, TrainableModel Model, IOptimizer Optimizer, string ResolvedYaml, RunIdentity Identity, int? KeepLast);
