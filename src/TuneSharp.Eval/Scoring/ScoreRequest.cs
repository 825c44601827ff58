namespace TuneSharp.Eval.Scoring;

/// <summary>A log-likelihood request in token ids: how likely <see cref="Continuation"/> is after <see cref="Context"/>.</summary>
public sealed record ScoreRequest(int[] Context, int[] Continuation)
{
    /// <summary>
    /// The model input and the index of the first scored position, as lm-evaluation-harness builds them: the whole
    /// sequence left-truncated to <paramref name="maxLength"/> + 1 tokens, without its last token. Positions
    /// [<c>First</c>, <c>Input.Length</c>) predict the continuation.
    /// </summary>
    public ScoredRow Window(int maxLength)
    {
        if (Continuation.Length == 0) throw new ArgumentException("a continuation needs at least one token");
        if (Context.Length == 0) throw new ArgumentException("a context needs at least one token (e.g. BOS)");
        var whole = Context.Concat(Continuation).ToArray();
        int start = Math.Max(0, whole.Length - (maxLength + 1));
        var input = whole[start..^1];
        int first = Math.Max(0, input.Length - Continuation.Length);
        return new ScoredRow(input, first, whole[^(input.Length - first)..]);
    }
}

/// <summary>A model input row: positions [<see cref="First"/>, <c>Input.Length</c>) predict <see cref="Targets"/>.</summary>
public sealed record ScoredRow(int[] Input, int First, int[] Targets)
{
    /// <summary>The same row without its first <paramref name="n"/> tokens (they are in a KV cache).</summary>
    public ScoredRow Skip(int n) => new(Input[n..], First - n, Targets);
}

/// <summary>The log-likelihood of a continuation and whether greedy decoding would have produced it.</summary>
public readonly record struct ContinuationScore(double LogLikelihood, bool IsGreedy);
