using TuneSharp.Training.Config;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Recipes;

/// <summary>
/// Simple preference optimization (<c>method.stage: simpo</c>): a target margin between the answers' per-token
/// mean log-probs, without a reference model, so for every method (full, freeze, LoRA, DoRA, QLoRA).
/// The loop is <see cref="PairRecipe"/>, the loss <see cref="SimPoObjective"/> (docs/methods.md).
/// </summary>
public static class SimPoRecipe
{
    public static Task<RunSummary> RunAsync(TrainConfig cfg, RunContext run, CancellationToken ct) =>
        PairRecipe.RunAsync(cfg, run, _ => new SimPoObjective(cfg.Method.Simpo), cfg.Method.Simpo.PromptTruncation, ct);
}
