using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The loss of one pair micro-batch (<see cref="Setup.PairDataSetup.Collate"/>: P chosen rows, then P rejected rows) for
/// a preference method trained by <see cref="Recipes.PairRecipe"/>: the SUM of the per-pair losses (the step driver
/// divides by the pairs of the step) and the method's metrics under TRL's names, prefixed <c>prefix</c>.
/// </summary>
public interface IPairObjective
{
    /// <param name="prefix">Metric name prefix: "" for training steps, "eval_" for evaluation.</param>
    MicroLoss Loss(CausalLM model, TrainBatch b, string prefix = "");

    /// <summary>Before training, once: what the objective adds to the tokenized pairs (e.g. DPO's precomputed
    /// reference log-probs); by default nothing.</summary>
    PreparedPairs Prepare(PreparedPairs data, TrainableModel model, TrainConfig cfg, CancellationToken ct) => data;
}
