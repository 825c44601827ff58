namespace TuneSharp.Data;

/// <summary>One histogram bin: examples whose length is ≤ <see cref="UpperBound"/> (and above the previous bin's bound).</summary>
public sealed record HistogramBin(long UpperBound, long Count);

/// <summary>
/// Running statistics over examples: count, turns, characters and a power-of-two length histogram. Lengths are characters,
/// or tokens when a counter is given (tokenization lives elsewhere; pass e.g. <c>ex =&gt; tokenizer.Count(render(ex))</c>).
/// </summary>
public sealed class DatasetStats(Func<Example, int>? tokenCounter = null)
{
    readonly long[] _bins = new long[40];
    public long Examples { get; private set; }
    public long Turns { get; private set; }
    public long Characters { get; private set; }
    public long TotalLength { get; private set; }
    public long MinLength { get; private set; } = long.MaxValue;
    public long MaxLength { get; private set; }
    /// <summary>"tokens" with a token counter, otherwise "characters".</summary>
    public string LengthUnit => tokenCounter is null ? "characters" : "tokens";

    /// <summary>Adds one example; returns its length in <see cref="LengthUnit"/>.</summary>
    public long Add(Example example)
    {
        long chars = CharacterCount(example);
        long length = tokenCounter is null ? chars : tokenCounter(example);
        Examples++;
        Turns += TurnCount(example);
        Characters += chars;
        TotalLength += length;
        MinLength = Math.Min(MinLength, length);
        MaxLength = Math.Max(MaxLength, length);
        int bin = length <= 1 ? 0 : Math.Min(_bins.Length - 1, 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)length - 1));
        _bins[bin]++;
        return length;
    }

    public double MeanLength => Examples == 0 ? 0 : (double)TotalLength / Examples;

    /// <summary>Non-empty bins from the first to the last used one (bounds 1, 2, 4, 8, ...).</summary>
    public IReadOnlyList<HistogramBin> Histogram()
    {
        int first = Array.FindIndex(_bins, c => c > 0), last = Array.FindLastIndex(_bins, c => c > 0);
        if (first < 0) return [];
        return [.. Enumerable.Range(first, last - first + 1).Select(i => new HistogramBin(1L << i, _bins[i]))];
    }

    public static int TurnCount(Example example) => example switch
    {
        ChatExample c => c.Messages.Count,
        PreferenceExample p => p.Prompt.Count + Math.Max(p.Chosen.Count, p.Rejected.Count),
        KtoExample k => k.Prompt.Count + k.Completion.Count,
        _ => 1,
    };

    public static long CharacterCount(Example example) => example switch
    {
        ChatExample c => Chars(c.Messages),
        CompletionExample c => c.Prompt.Length + c.Completion.Length,
        TextExample t => t.Text.Length,
        PreferenceExample p => Chars(p.Prompt) + Math.Max(Chars(p.Chosen), Chars(p.Rejected)),
        KtoExample k => Chars(k.Prompt) + Chars(k.Completion),
        _ => 0,
    };

    static long Chars(IReadOnlyList<ChatMessage> messages) => messages.Sum(m => (long)(m.Content?.Length ?? 0) + (m.ToolCalls?.ToJsonString().Length ?? 0));
}
