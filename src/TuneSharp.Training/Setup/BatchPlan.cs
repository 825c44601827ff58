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
