using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Training.Losses;
using static TorchSharp.torch;

namespace TuneSharp.Training.Loop;

/// <summary>Next-token loss, perplexity and token accuracy on held-out batches.</summary>
public sealed record HeldOutScore(double Loss, double Accuracy, long Tokens)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// The validation loss of next-token recipes (SFT, pretraining): the mean over every labelled validation token, in eval
/// mode (no dropout) and without gradients, at most <c>maxBatches</c> batches. The model's train/eval mode is restored.
/// </summary>
public sealed class HeldOutLoss(IReadOnlyList<TrainBatch> batches, int? maxBatches)
{
    public bool HasData => batches.Count > 0;

    /// <summary>The batches one evaluation runs through the model.</summary>
    public IReadOnlyList<TrainBatch> Batches => [.. batches.Take(maxBatches ?? int.MaxValue)];

    public HeldOutScore Evaluate(CausalLM model)
    {
        bool wasTraining = model.training;
        model.eval();
        double loss = 0;
        long tokens = 0, correct = 0;
        var device = model.LmHeadWeight.device;
        using (no_grad())
            foreach (var b in batches.Take(maxBatches ?? int.MaxValue))
            {
                using var scope = NewDisposeScope();
                var t = BatchTensors.Of(b, device);
                var hidden = model.Hidden(t.Ids, t.Positions, segmentIds: t.Segments);
                var score = CausalLmLoss.Score(hidden, model.LmHeadWeight, t.Labels);
                loss += score.SumLoss;
                tokens += score.TokenCount;
                correct += score.Correct;
            }
        if (wasTraining) model.train();
        return tokens == 0 ? new HeldOutScore(double.NaN, double.NaN, 0) : new HeldOutScore(loss / tokens, (double)correct / tokens, tokens);
    }
}
