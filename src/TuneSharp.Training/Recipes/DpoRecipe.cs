using TuneSharp.Training.Config;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// Direct preference optimization (<c>method.stage: dpo</c>): DPO and its variants against a reference policy,
/// the same model with its adapters disabled, so for the adapter methods (LoRA, DoRA, QLoRA) only.
/// The loop is <see cref="PairRecipe"/>, the loss <see cref="DpoObjective"/> (docs/methods.md).
/// </summary>
public static class DpoRecipe
{
    public static Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct) =>
        PairRecipe.RunAsync(cfg, run, new DpoObjective(cfg.Method.Dpo), cfg.Method.Dpo.PromptTruncation, ct);
}
