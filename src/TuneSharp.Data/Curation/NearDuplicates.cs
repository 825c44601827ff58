namespace TuneSharp.Data.Curation;

/// <summary>What <see cref="NearDuplicates.Add"/> decided: kept (a new representative), or a near-duplicate of an
/// earlier kept text with the estimated Jaccard similarity of their shingle sets.</summary>
public readonly record struct DuplicateVerdict(bool Duplicate, int Representative, double Similarity);

/// <summary>
/// Streaming near-duplicate removal with MinHash and locality-sensitive hashing (as datatrove and NeMo Curator do): each
/// text's signature is cut into <see cref="Bands"/> bands of <see cref="Rows"/> rows; texts sharing a band are candidates,
/// and a candidate whose estimated Jaccard similarity reaches <see cref="Threshold"/> makes the new text a duplicate of
/// that earlier representative (the first text of a cluster is kept). Band and row counts are chosen for the threshold
/// (the S-curve's midpoint (1/b)^(1/r) just below it, so few true duplicates are missed and candidates are verified).
/// Memory: one signature per kept text. Deterministic: same texts in the same order, same verdicts.
/// </summary>
public sealed class NearDuplicates
{
    readonly MinHash _minHash;
    readonly List<ulong[]> _kept = [];
    readonly Dictionary<(int Band, ulong Hash), List<int>> _buckets = [];

    public NearDuplicates(double threshold = 0.8, int signatureSize = 128, int shingleWords = 5)
    {
        if (threshold is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "a Jaccard threshold in (0, 1]");
        Threshold = threshold;
        _minHash = new MinHash(signatureSize, shingleWords);
        (Bands, Rows) = BandsFor(threshold, signatureSize);
    }

    public double Threshold { get; }
    public int Bands { get; }
    public int Rows { get; }
    public int Kept => _kept.Count;

    /// <summary>The (bands, rows) with bands x rows &lt;= size whose S-curve midpoint (1/b)^(1/r) is the largest one not
    /// above 0.9 x threshold (candidates are verified against the threshold afterwards).</summary>
    public static (int Bands, int Rows) BandsFor(double threshold, int size)
    {
        var best = (Bands: size, Rows: 1);
        double bestMid = -1;
        for (int r = 1; r <= size; r++)
        {
            int b = size / r;
            double mid = Math.Pow(1.0 / b, 1.0 / r);
            if (mid <= 0.9 * threshold && mid > bestMid) (best, bestMid) = ((b, r), mid);
        }
        return best;
    }

    /// <summary>Decides <paramref name="text"/> against the texts kept so far; a kept text becomes a representative.</summary>
    public DuplicateVerdict Add(string text)
    {
        var sig = _minHash.Signature(text);
        var keys = Enumerable.Range(0, Bands).Select(band => (band, BandHash(sig, band))).ToList();
        int best = -1;
        double bestSim = 0;
        foreach (var key in keys)
            if (_buckets.TryGetValue(key, out var members))
                foreach (int m in members)
                {
                    double sim = MinHash.Similarity(sig, _kept[m]);
                    if (sim >= Threshold && (sim > bestSim || sim == bestSim && m < best)) (best, bestSim) = (m, sim);
                }
        if (best >= 0) return new DuplicateVerdict(true, best, bestSim);
        int id = _kept.Count;
        _kept.Add(sig);
        foreach (var key in keys)
        {
            if (!_buckets.TryGetValue(key, out var list)) _buckets[key] = list = [];
            list.Add(id);
        }
        return new DuplicateVerdict(false, id, 1);
    }

    ulong BandHash(ulong[] sig, int band)
    {
        ulong h = 14695981039346656037;
        for (int i = band * Rows; i < (band + 1) * Rows; i++) h = (h ^ sig[i]) * 1099511628211;
        return h;
    }
}
