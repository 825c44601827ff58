using TuneSharp.Data.Batching;

namespace TuneSharp.Data.Encoding;

/// <summary>
/// A tokenized KTO example: the prompt and one completion (trained on every token, its end-of-turn included), labelled
/// desirable or undesirable. <see cref="Row"/> is the full row, prompt + completion, ready for collation.
/// </summary>
public sealed record TokenizedCompletion(int[] Prompt, int[] Completion, bool Desirable, SourceLocation Source)
{
    public TokenizedSample Row => Rows.Of(Prompt, Completion, Source);

    /// <summary>This completion after another example's prompt (a KL row: the pair does not belong together), cut at
    /// the end to <paramref name="maxSeqLen"/> tokens.</summary>
    public TokenizedSample After(int[] otherPrompt, int maxSeqLen) =>
        Rows.Of(otherPrompt, PromptCompletion.Head(Completion, Math.Max(1, maxSeqLen - otherPrompt.Length)), Source);
}

/// <summary>Prompt + completion rows whose completion tokens are trained.</summary>
internal static class Rows
{
    public static TokenizedSample Of(int[] prompt, int[] completion, SourceLocation source) =>
        new([.. prompt, .. completion], [.. Enumerable.Repeat(false, prompt.Length), .. Enumerable.Repeat(true, completion.Length)], source);
}

/// <summary>The outcome of encoding one KTO example: the example (also when truncated), or the reason it cannot be used.</summary>
public sealed record KtoResult(EncodeStatus Status, TokenizedCompletion? Example, SourceLocation Source, string? Reason);

/// <summary>
/// Encodes KTO examples with the run's chat template, like <see cref="PairEncoder"/> with one answer: the prompt and the
/// completion come from one rendered conversation; when they exceed max_seq_len the prompt is cut first (from the
/// configured side, down to half of max_seq_len at most), then the completion at its end, as TRL does.
/// </summary>
public sealed class KtoEncoder(ExampleEncoder encoder, PromptTruncation promptTruncation = PromptTruncation.KeepEnd)
{
    readonly PromptCompletion _split = new(encoder);

    public KtoResult Encode(KtoExample example)
    {
        var source = example.Source;
        if (example.Completion.Count == 0) return Problem(source, "the completion is missing");
        var (prompt, completion, error) = _split.Split(source, example.Prompt, example.Completion, example.Tools, "completion");
        if (error is not null) return Problem(source, error);
        int max = encoder.Settings.MaxSeqLen;
        var whole = new TokenizedCompletion(prompt, completion, example.Label, source);
        if (prompt.Length + completion.Length <= max) return new KtoResult(EncodeStatus.Encoded, whole, source, null);
        if (encoder.Settings.Truncation == Truncation.Drop)
            return new KtoResult(EncodeStatus.Dropped, null, source, $"{prompt.Length} prompt + {completion.Length} completion tokens > max_seq_len {max}");
        var (promptKeep, answerKeep) = PromptCompletion.Budget(prompt.Length, completion.Length, max);
        var cut = whole with
        {
            Prompt = PromptCompletion.CutPrompt(prompt, promptKeep, promptTruncation),
            Completion = PromptCompletion.Head(completion, answerKeep),
        };
        return new KtoResult(EncodeStatus.Truncated, cut, source,
            $"truncated: prompt {prompt.Length} -> {cut.Prompt.Length} tokens, completion {completion.Length} -> {cut.Completion.Length}");
    }

    /// <summary>A preference pair as two KTO examples, as TRL's <c>unpair_preference_dataset</c>: the chosen answer
    /// desirable, the rejected one undesirable, both after the shared prompt.</summary>
    public static IEnumerable<KtoExample> Unpair(PreferenceExample pair) =>
    [
        new KtoExample(pair.Source, pair.Prompt, pair.Chosen, Label: true, pair.Tools),
        new KtoExample(pair.Source, pair.Prompt, pair.Rejected, Label: false, pair.Tools),
    ];

    /// <summary>Whether a pair's two answers are the same messages (unpaired, one completion would carry both labels).</summary>
    public static bool SameAnswers(PreferenceExample pair) => PairEncoder.Same(pair.Chosen, pair.Rejected);

    static KtoResult Problem(SourceLocation source, string reason) => new(EncodeStatus.Problem, null, source, reason);
}
