using TuneSharp.Data.Batching;

namespace TuneSharp.Training.Setup;

/// <summary>
/// Which micro-batches make up each optimizer step. Derived from the step index alone (epoch = step / steps per epoch,
/// shuffled by seed + epoch), so resuming needs nothing but the step number and cannot drift. What an item is and how
/// a micro-batch is collated is the recipe's (samples or packed rows for next-token training, chosen + rejected rows
/// for preference pairs); the schedule is shared.
/// </summary>
public sealed class BatchPlan
{
    readonly Func<int, IReadOnlyList<TrainBatch>> _epochBatches;
    readonly int _gradAccum;
    (int Epoch, IReadOnlyList<TrainBatch> Batches)? _cached;

    /// <param name="epochBatches">The micro-batches of an epoch (0-based), deterministic in the epoch.</param>
    public BatchPlan(int gradAccum, Func<int, IReadOnlyList<TrainBatch>> epochBatches)
    {
        _gradAccum = gradAccum;
        _epochBatches = epochBatches;
        BatchesPerEpoch = EpochBatches(0).Count;
        StepsPerEpoch = (BatchesPerEpoch + gradAccum - 1) / gradAccum;
    }

    /// <summary>Next-token micro-batches: <paramref name="microBatch"/> samples padded to the longest, or packed rows.</summary>
    public BatchPlan(IReadOnlyList<TokenizedSample> samples, int microBatch, int gradAccum, bool packing, int maxSeqLen,
        int padId, int seed, bool shuffle)
        : this(gradAccum, epoch =>
        {
            var (order, rng) = Order(samples, seed, epoch, shuffle);
            if (!packing) return [.. order.Chunk(microBatch).Select(chunk => Collator.Pad(chunk, padId))];
            var packed = Collator.Pack(order, maxSeqLen, microBatch, padId).ToArray();
            if (shuffle) rng.Shuffle(packed); // packing sorts by length; shuffle the batches back
            return packed;
        })
    {
    }

    /// <summary>The items of an epoch in training order (shuffled by seed + epoch), and the generator, for further draws.</summary>
    public static (T[] Order, Random Rng) Order<T>(IReadOnlyList<T> items, int seed, int epoch, bool shuffle)
    {
        var order = items.ToArray();
        var rng = new Random(unchecked(seed * 1_000_003 + epoch)); // deterministic across processes (HashCode is not)
        if (shuffle) rng.Shuffle(order);
        return (order, rng);
    }

    /// <summary>The plan of a next-token run: micro-batches of <c>train.micro_batch_size</c> samples (or packed rows),
    /// <c>train.grad_accum</c> of them per optimizer step.</summary>
    public static BatchPlan For(Config.TrainConfig cfg, IReadOnlyList<TokenizedSample> samples, int padId)
    {
        if (samples.Count < cfg.Train.MicroBatchSize && !cfg.Data.Packing)
            throw new ArgumentException($"train.micro_batch_size ({cfg.Train.MicroBatchSize}) is larger than the training set " +
                                        $"({samples.Count} samples after tokenization)");
        return new BatchPlan(samples, cfg.Train.MicroBatchSize, cfg.Train.GradAccum, cfg.Data.Packing, cfg.Data.MaxSeqLen,
            padId, cfg.Train.Seed, cfg.Data.Shuffle);
    }

    /// <summary>Optimizer steps of the run: <c>train.max_steps</c>, else the steps of <c>train.epochs</c> epochs.</summary>
    public long TotalSteps(Config.TrainSection train) => train.MaxSteps ?? (long)Math.Ceiling(train.Epochs!.Value * StepsPerEpoch);

    /// <summary>Epochs (started) that <paramref name="totalSteps"/> steps run through.</summary>
    public int EpochsFor(long totalSteps) => (int)Math.Ceiling((double)totalSteps / StepsPerEpoch);

    /// <summary>Tokens, padding included, that <paramref name="steps"/> steps put through the model (epoch 0's batches as the sample).</summary>
    public double PaddedTokens(long steps) => EpochBatches(0).Sum(b => (double)b.Rows * b.Length) * steps / StepsPerEpoch;

    public int BatchesPerEpoch { get; }
    public int StepsPerEpoch { get; }

    /// <summary>The micro-batches of optimizer step <paramref name="step"/> (0-based; the last step of an epoch may have fewer).</summary>
    public IReadOnlyList<TrainBatch> StepBatches(long step)
    {
        int epoch = (int)(step / StepsPerEpoch);
        int index = (int)(step % StepsPerEpoch);
        var batches = EpochBatches(epoch);
        int start = index * _gradAccum;
        return [.. batches.Skip(start).Take(Math.Min(_gradAccum, batches.Count - start))];
    }

    public double EpochOf(long completedSteps) => (double)completedSteps / StepsPerEpoch;

    public IReadOnlyList<TrainBatch> EpochBatches(int epoch)
    {
        if (_cached is { } c && c.Epoch == epoch) return c.Batches;
        var batches = _epochBatches(epoch);
        _cached = (epoch, batches);
        return batches;
    }

    /// <summary>Validation batches: padded, in order.</summary>
    public static IReadOnlyList<TrainBatch> Evaluation(IReadOnlyList<TokenizedSample> samples, int microBatch, int padId) =>
        [.. samples.Chunk(microBatch).Select(chunk => Collator.Pad(chunk, padId))];
}
