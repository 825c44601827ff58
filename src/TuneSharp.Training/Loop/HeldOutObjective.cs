using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Observers;
using static TorchSharp.torch;

namespace TuneSharp.Training.Loop;

/// <summary>A recipe's objective on held-out batches: summed loss / units, and the named metrics' means.</summary>
public sealed record HeldOutResult(double Loss, long Units, long TrainedTokens, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// The validation pass of recipes whose loss is not next-token (preference pairs, ...): the recipe's own micro-batch
/// loss, in eval mode (no dropout) and without gradients, over at most <c>maxBatches</c> batches. The loss is the sum
/// over every batch divided by the units of all of them, like a training step (<see cref="StepDriver"/>); the model's
/// train/eval mode is restored.
/// </summary>
public sealed class HeldOutObjective(IReadOnlyList<TrainBatch> batches, int? maxBatches)
{
    IEnumerable<TrainBatch> Used => batches.Take(maxBatches ?? int.MaxValue);

    public bool HasData => batches.Count > 0;

    /// <summary>The batches one evaluation runs through the recipe's loss.</summary>
    public IReadOnlyList<TrainBatch> Batches => [.. Used];

    /// <summary>An evaluation record of <see cref="Evaluate"/>: the objective's loss as <see cref="EvalMetrics.Loss"/> and
    /// its metrics (already prefixed by the loss); perplexity and token accuracy do not apply.</summary>
    /// <param name="finish">Derives further metrics from the means (e.g. KTO's margins); null = as they are.</param>
    public EvalMetrics Metrics(CausalLM model, long step, bool best, Func<TrainBatch, long> units, Func<TrainBatch, MicroLoss> loss,
        Func<IReadOnlyDictionary<string, double>, IReadOnlyDictionary<string, double>>? finish = null)
    {
        var r = Evaluate(model, units, loss);
        return new EvalMetrics(step, r.Loss, double.NaN, double.NaN, r.TrainedTokens, best) { Metrics = finish?.Invoke(r.Metrics) ?? r.Metrics };
    }

    public HeldOutResult Evaluate(CausalLM model, Func<TrainBatch, long> units, Func<TrainBatch, MicroLoss> loss)
    {
        bool wasTraining = model.training;
        model.eval();
        double sum = 0;
        long total = 0, tokens = 0;
        var metrics = new MetricSums();
        using (no_grad())
            foreach (var b in Used)
            {
                using var scope = NewDisposeScope();
                var micro = loss(b);
                sum += micro.Sum.item<float>();
                total += units(b);
                tokens += b.TrainedTokens;
                if (micro.Metrics is { } m) metrics.Add(m);
            }
        if (wasTraining) model.train();
        return new HeldOutResult(total == 0 ? double.NaN : sum / total, total, tokens, metrics.Means());
    }
}
