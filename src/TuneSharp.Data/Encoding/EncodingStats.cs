using System.Globalization;
using System.Text;
using TuneSharp.Data.Batching;

namespace TuneSharp.Data.Encoding;

/// <summary>
/// Counters over an encoded dataset: examples by outcome, prompt (untrained) and trained tokens of the kept samples, and
/// a histogram of kept sample lengths in power-of-two buckets (bucket k counts lengths in (2^(k-1), 2^k]).
/// </summary>
public sealed class EncodingStats
{
    public const int Buckets = 24;

    public long Examples { get; private set; }
    public long Kept { get; private set; }
    public long Truncated { get; private set; }
    public long Dropped { get; private set; }
    public long Problems { get; private set; }
    public long PromptTokens { get; private set; }
    public long TrainedTokens { get; private set; }
    /// <summary>Kept samples per length bucket: index k counts lengths in (2^(k-1), 2^k].</summary>
    public long[] LengthHistogram { get; } = new long[Buckets];
    /// <summary>The first problems and drops (at most <see cref="MaxReasons"/>), for the user.</summary>
    public List<string> Reasons { get; } = [];
    public const int MaxReasons = 20;

    public void Add(EncodeResult result)
    {
        Examples++;
        switch (result.Status)
        {
            case EncodeStatus.Dropped: Dropped++; Note(result); return;
            case EncodeStatus.Problem: Problems++; Note(result); return;
            case EncodeStatus.Truncated: Truncated++; break;
        }
        AddSample(result.Sample!);
    }

    /// <summary>Counts a kept sample (also used for pretraining windows).</summary>
    public void AddSample(TokenizedSample sample)
    {
        Kept++;
        int trained = sample.TrainedCount;
        TrainedTokens += trained;
        PromptTokens += sample.Length - trained;
        LengthHistogram[Math.Min(Buckets - 1, BucketOf(sample.Length))]++;
    }

    static int BucketOf(int length) => length <= 1 ? 0 : 32 - int.LeadingZeroCount(length - 1);

    void Note(EncodeResult result)
    {
        if (Reasons.Count < MaxReasons) Reasons.Add(result.ToString());
    }

    /// <summary>Restores counters (cache reads).</summary>
    internal void Set(long[] counters, long[] histogram)
    {
        (Examples, Kept, Truncated, Dropped, Problems, PromptTokens, TrainedTokens) =
            (counters[0], counters[1], counters[2], counters[3], counters[4], counters[5], counters[6]);
        histogram.CopyTo(LengthHistogram, 0);
    }

    internal long[] Counters => [Examples, Kept, Truncated, Dropped, Problems, PromptTokens, TrainedTokens];

    public override string ToString()
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"examples {Examples}, kept {Kept}, truncated {Truncated}, dropped {Dropped}, problems {Problems}");
        sb.AppendLine(ci, $"prompt tokens {PromptTokens}, trained tokens {TrainedTokens}");
        for (int k = 0; k < Buckets; k++)
            if (LengthHistogram[k] > 0)
                sb.AppendLine(ci, $"  length <= {1L << k,7}: {LengthHistogram[k]}");
        return sb.ToString();
    }
}
