using TuneSharp.Training.Config;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// Odds ratio preference optimization (<c>method.stage: orpo</c>): the SFT loss on the chosen answer plus an
/// odds-ratio penalty on the rejected one, without a reference model, so for every method (full, freeze, LoRA, DoRA, QLoRA).
/// The loop is <see cref="PairRecipe"/>, the loss <see cref="OrpoObjective"/> (docs/methods.md).
/// </summary>
public static class OrpoRecipe
{
    public static Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct) =>
        PairRecipe.RunAsync(cfg, run, _ => new OrpoObjective(cfg.Method.Orpo), cfg.Method.Orpo.PromptTruncation, ct);
}
