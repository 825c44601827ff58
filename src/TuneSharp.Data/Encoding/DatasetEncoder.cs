using TuneSharp.Data.Batching;

namespace TuneSharp.Data.Encoding;

/// <summary>A dataset encoded in memory: kept samples in input order, and the statistics.</summary>
public sealed record EncodedDataset(IReadOnlyList<TokenizedSample> Samples, EncodingStats Stats);

/// <summary>Encodes a stream of examples in parallel over the cores with deterministic (input) order.</summary>
public static class DatasetEncoder
{
    /// <summary>
    /// Streams the results of <see cref="ExampleEncoder.Encode"/> in input order; templating and tokenizing run in
    /// parallel, a block of examples at a time. When <paramref name="stats"/> is given, each result is counted there
    /// as it is yielded.
    /// </summary>
    public static IEnumerable<EncodeResult> EncodeAll(IEnumerable<Example> examples, ExampleEncoder encoder, EncodingStats? stats = null,
        int? maxDegreeOfParallelism = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(encoder);
        foreach (var result in OrderedParallel.Map(examples, encoder.Encode, maxDegreeOfParallelism, cancellation))
        {
            stats?.Add(result);
            yield return result;
        }
    }

    /// <summary>Encodes everything into memory, keeping the usable samples.</summary>
    public static EncodedDataset EncodeToList(IEnumerable<Example> examples, ExampleEncoder encoder, int? maxDegreeOfParallelism = null,
        CancellationToken cancellation = default)
    {
        var stats = new EncodingStats();
        var samples = new List<TokenizedSample>();
        foreach (var r in EncodeAll(examples, encoder, stats, maxDegreeOfParallelism, cancellation))
            if (r.Sample != null) samples.Add(r.Sample);
        return new EncodedDataset(samples, stats);
    }
}
