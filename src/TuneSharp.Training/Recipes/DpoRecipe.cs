using TuneSharp.Training.Config;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// Direct preference optimization (<c>method.stage: dpo</c>): DPO and its variants against a reference policy
/// (<see cref="IReferencePolicy.For"/>: the same model with its adapters disabled for LoRA, DoRA and QLoRA; a frozen
/// copy of the starting weights for full and freeze runs; or their log-probs computed once before training with
/// <c>precompute_ref_log_probs</c>).
/// The loop is <see cref="PairRecipe"/>, the loss <see cref="DpoObjective"/> (docs/methods.md).
/// </summary>
public static class DpoRecipe
{
    public static Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct) =>
        PairRecipe.RunAsync(cfg, run, model => new DpoObjective(cfg.Method.Dpo, IReferencePolicy.For(model, cfg.Method.Dpo.PrecomputeRefLogProbs)), cfg.Method.Dpo.PromptTruncation, ct);
}
