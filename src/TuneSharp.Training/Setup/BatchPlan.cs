using TuneSharp.Data.Batching;

namespace TuneSharp.Training.Setup;

/// <summary>
/// Which micro-batches make up each optimizer step. Derived from the step index alone (epoch = step / steps per epoch,
/// shuffled by seed + epoch), so resuming needs nothing but the step number and cannot drift.
/// </summary>
public sealed class BatchPlan
{
    readonly IReadOnlyList<TokenizedSample> _samples;
    readonly int _microBatch, _gradAccum, _maxSeqLen, _padId, _seed;
    readonly bool _packing, _shuffle;
    (int Epoch, IReadOnlyList<TrainBatch> Batches)? _cached;

    public BatchPlan(IReadOnlyList<TokenizedSample> samples, int microBatch, int gradAccum, bool packing, int maxSeqLen,
        int padId, int seed, bool shuffle)
    {
        _samples = samples;
        _microBatch = microBatch;
        _gradAccum = gradAccum;
        _packing = packing;
        _maxSeqLen = maxSeqLen;
        _padId = padId;
        _seed = seed;
        _shuffle = shuffle;
        BatchesPerEpoch = EpochBatches(0).Count;
        StepsPerEpoch = (BatchesPerEpoch + gradAccum - 1) / gradAccum;
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
        var order = Enumerable.Range(0, _samples.Count).ToArray();
        var rng = new Random(unchecked(_seed * 1_000_003 + epoch)); // deterministic across processes (HashCode is not)
        if (_shuffle) rng.Shuffle(order);
        var samples = order.Select(i => _samples[i]).ToList();
        IReadOnlyList<TrainBatch> batches;
        if (_packing)
        {
            var packed = Collator.Pack(samples, _maxSeqLen, _microBatch, _padId).ToArray();
            if (_shuffle) rng.Shuffle(packed); // packing sorts by length; shuffle the batches back
            batches = packed;
        }
        else
        {
            batches = [.. samples.Chunk(_microBatch).Select(chunk => Collator.Pad(chunk, _padId))];
        }
        _cached = (epoch, batches);
        return batches;
    }

    /// <summary>Validation batches: padded, in order.</summary>
    public static IReadOnlyList<TrainBatch> Evaluation(IReadOnlyList<TokenizedSample> samples, int microBatch, int padId) =>
        [.. samples.Chunk(microBatch).Select(chunk => Collator.Pad(chunk, padId))];
}
