namespace TuneSharp.Data.Batching;

/// <summary>
/// A tokenized example: ids and, per token, whether the model is trained to predict it (the label policy's output:
/// assistant turns incl. their end-of-turn token, completions, ...). Token 0 is never a target (nothing precedes it).
/// </summary>
public sealed record TokenizedSample(int[] InputIds, bool[] Trained, SourceLocation? Source = null)
{
    public int Length => InputIds.Length;

    /// <summary>Number of tokens that contribute to the loss.</summary>
    public int TrainedCount
    {
        get
        {
            int n = 0;
            for (int t = 1; t < Trained.Length; t++) if (Trained[t]) n++;
            return n;
        }
    }
}

/// <summary>
/// A batch as flat row-major managed arrays [Rows, Length], built off the training thread. Labels are aligned with
/// positions: Labels[r, t] is the token position t must predict (the next token), or <see cref="Ignore"/>.
/// SegmentIds is set for packed batches (0 = padding, 1.. = sample index within the row); PositionIds restart per sample.
/// </summary>
public sealed record TrainBatch(int Rows, int Length, long[] InputIds, long[] Labels, long[] PositionIds, long[]? SegmentIds)
{
    public const long Ignore = -100;

    /// <summary>Tokens that are not padding.</summary>
    public int RealTokens { get; init; }

    /// <summary>Labels that are not <see cref="Ignore"/>: the loss denominator's share of this batch.</summary>
    public int TrainedTokens { get; init; }

    public int Samples { get; init; }

    /// <summary>KTO batches only: whether the completion of each example row (the first <c>Desirable.Length</c> rows)
    /// is desirable; the rows after them are the examples' KL rows. Null for every other batch.</summary>
    public bool[]? Desirable { get; init; }
    /// <summary>Pair batches (chosen rows, then rejected rows): each pair's margin (0 where a pair has none), or null
    /// when no pair of the batch has one. Used by reward models.</summary>
    public double[]? PairMargins { get; init; }
    /// <summary>Pair batches whose reference log-probs were computed before training: the summed log pi_ref of each
    /// row (the P chosen rows, then the P rejected rows); null = the reference runs on this batch.</summary>
    public double[]? ReferenceLogProbs { get; init; }
}
