using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;

namespace TuneSharp.Training.Loop;

/// <summary>How a run ends: all steps done, stopped by early stopping, or interrupted (signal, cancellation).</summary>
public enum RunStatus { Completed, EarlyStopped, Interrupted }

/// <summary>
/// When to evaluate, checkpoint and stop, from <c>eval:</c> and <c>output:</c>: evaluation every N steps and at the
/// end (when there is validation data), a checkpoint every N steps, at the last step and whenever the run stops early,
/// and early stopping after <c>early_stopping_patience</c> evaluations without a new best loss.
/// </summary>
public sealed class RunCadence(EvalSection eval, OutputSection output, long totalSteps, bool hasValidation)
{
    public bool IsLast(long step) => step >= totalSteps;

    public bool EvalDue(long step) =>
        hasValidation && (eval.EverySteps is { } every && step % every == 0 || IsLast(step) && eval.AtEnd);

    /// <summary>Held-out evaluations from after <paramref name="fromStep"/> to the end: those due on the way, the final
    /// one (the run report evaluates the last step when the cadence did not), and the baseline before a fresh run.</summary>
    public int EvalPasses(long fromStep, bool baseline)
    {
        if (!hasValidation) return 0;
        int due = 0;
        for (long s = fromStep + 1; s <= totalSteps; s++) if (EvalDue(s)) due++;
        return due + (EvalDue(totalSteps) ? 0 : 1) + (baseline ? 1 : 0);
    }

    public bool CheckpointDue(long step, RunStatus status) =>
        IsLast(step) || status != RunStatus.Completed || output.SaveEverySteps is { } n && step % n == 0;

    /// <summary>The state after an evaluation with <paramref name="loss"/> at <paramref name="step"/>, and whether it is the best.</summary>
    public (TrainerState State, bool IsBest) RecordEval(TrainerState state, long step, double loss)
    {
        bool best = state.BestEvalLoss is not { } b || loss < b;
        return (best
            ? state with { BestEvalLoss = loss, BestStep = step, EvalsWithoutImprovement = 0 }
            : state with { EvalsWithoutImprovement = state.EvalsWithoutImprovement + 1 }, best);
    }

    /// <summary>The status after a step: interrupted when a stop was requested, early-stopped when patience ran out.</summary>
    public RunStatus StatusAfter(TrainerState state, bool stopRequested) =>
        stopRequested ? RunStatus.Interrupted
        : eval.EarlyStoppingPatience is { } patience && state.EvalsWithoutImprovement >= patience ? RunStatus.EarlyStopped
        : RunStatus.Completed;

    /// <summary>The status's name in summaries and metrics: completed | early_stopped | interrupted.</summary>
    public static string Name(RunStatus status) => status switch
    {
        RunStatus.EarlyStopped => "early_stopped",
        RunStatus.Interrupted => "interrupted",
        _ => "completed",
    };
}
