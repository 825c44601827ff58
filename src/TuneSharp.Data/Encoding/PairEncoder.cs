using TuneSharp.Data.Batching;

namespace TuneSharp.Data.Encoding;

/// <summary>Which end of a too-long prompt is kept (TRL <c>truncation_mode</c>).</summary>
public enum PromptTruncation
{
    /// <summary>Keep the last tokens (the end of the conversation, next to the answer). The default, as in TRL.</summary>
    KeepEnd,
    /// <summary>Keep the first tokens.</summary>
    KeepStart,
}

/// <summary>
/// A tokenized preference pair: the prompt once, and the two completions (each trained on every token, its end-of-turn
/// included). <see cref="Chosen"/> and <see cref="Rejected"/> are full rows, prompt + completion, ready for collation.
/// </summary>
public sealed record TokenizedPair(int[] Prompt, int[] ChosenCompletion, int[] RejectedCompletion, SourceLocation Source)
{
    /// <summary>The pair's margin (<see cref="PreferenceExample.Margin"/>), used by reward models; null = none.</summary>
    public double? Margin { get; init; }

    /// <summary>The reference model's summed log-probs of the two completions, when computed once before training
    /// (DPO <c>precompute_ref_log_probs</c>); null = the reference runs with every batch.</summary>
    public ReferenceLogProbs? Reference { get; init; }

    public TokenizedSample Chosen => Row(ChosenCompletion);
    public TokenizedSample Rejected => Row(RejectedCompletion);

    TokenizedSample Row(int[] completion) =>
        new([.. Prompt, .. completion], [.. Enumerable.Repeat(false, Prompt.Length), .. Enumerable.Repeat(true, completion.Length)], Source);
}

/// <summary>A reference model's log pi_ref(y|x) of a pair's chosen and rejected completion (sums over their tokens).</summary>
public readonly record struct ReferenceLogProbs(double Chosen, double Rejected);

/// <summary>The outcome of encoding one pair: the pair (also when truncated), or the reason it cannot be used; for a
/// truncated pair, which parts were cut (the prompt first, then, if still too long, both answers at their end).</summary>
public sealed record PairResult(EncodeStatus Status, TokenizedPair? Pair, SourceLocation Source, string? Reason)
{
    public bool PromptTruncated { get; init; }
    public bool AnswersTruncated { get; init; }
}

/// <summary>
/// Encodes preference pairs with the run's chat template: prompt + chosen and prompt + rejected are rendered and
/// tokenized as whole conversations (so the boundary tokenizes as at inference), the completion is the final assistant
/// turn (the tokens the SFT encoder would train), and the prompt must come out identical in both, so one prompt is
/// shared. When prompt + the longer completion exceed max_seq_len, the prompt is cut first (from the configured side,
/// down to half of max_seq_len at most), then both completions are cut at the end, as TRL does.
/// </summary>
public sealed class PairEncoder(ExampleEncoder encoder, PromptTruncation promptTruncation = PromptTruncation.KeepEnd)
{
    readonly PromptCompletion _split = new(encoder);

    public PairResult Encode(PreferenceExample pair)
    {
        var source = pair.Source;
        if (pair.Chosen.Count == 0 || pair.Rejected.Count == 0)
            return Problem(source, $"the {(pair.Chosen.Count == 0 ? "chosen" : "rejected")} answer is missing");
        if (Same(pair.Chosen, pair.Rejected)) return Problem(source, "chosen and rejected are identical: the pair teaches nothing");
        var chosen = _split.Split(source, pair.Prompt, pair.Chosen, pair.Tools, "chosen");
        if (chosen.Error is { } e1) return Problem(source, e1);
        var rejected = _split.Split(source, pair.Prompt, pair.Rejected, pair.Tools, "rejected");
        if (rejected.Error is { } e2) return Problem(source, e2);
        if (!chosen.Prompt.AsSpan().SequenceEqual(rejected.Prompt))
            return Problem(source, "the prompt renders differently before the chosen and the rejected answer (the chat template depends on the answer); pairs need one shared prompt");
        return Truncate(new TokenizedPair(chosen.Prompt, chosen.Completion, rejected.Completion, source) { Margin = pair.Margin });
    }

    PairResult Truncate(TokenizedPair p)
    {
        int max = encoder.Settings.MaxSeqLen;
        int longest = Math.Max(p.ChosenCompletion.Length, p.RejectedCompletion.Length);
        if (p.Prompt.Length + longest <= max) return new PairResult(EncodeStatus.Encoded, p, p.Source, null);
        if (encoder.Settings.Truncation == Truncation.Drop)
            return new PairResult(EncodeStatus.Dropped, null, p.Source, $"{p.Prompt.Length} prompt + {longest} answer tokens > max_seq_len {max}");
        var (promptKeep, answerKeep) = PromptCompletion.Budget(p.Prompt.Length, longest, max);
        int[] prompt = PromptCompletion.CutPrompt(p.Prompt, promptKeep, promptTruncation);
        var cut = new TokenizedPair(prompt, PromptCompletion.Head(p.ChosenCompletion, answerKeep), PromptCompletion.Head(p.RejectedCompletion, answerKeep), p.Source) { Margin = p.Margin };
        return new PairResult(EncodeStatus.Truncated, cut, p.Source,
            $"truncated: prompt {p.Prompt.Length} -> {prompt.Length} tokens, answers {p.ChosenCompletion.Length}/{p.RejectedCompletion.Length} -> {cut.ChosenCompletion.Length}/{cut.RejectedCompletion.Length}")
        {
            PromptTruncated = prompt.Length < p.Prompt.Length,
            AnswersTruncated = longest > answerKeep,
        };
    }

    internal static bool Same(IReadOnlyList<ChatMessage> a, IReadOnlyList<ChatMessage> b) =>
        a.Count == b.Count && a.Zip(b).All(x => x.First.Role == x.Second.Role && x.First.Content == x.Second.Content
            && x.First.ToolCalls?.ToJsonString() == x.Second.ToolCalls?.ToJsonString());

    static PairResult Problem(SourceLocation source, string reason) => new(EncodeStatus.Problem, null, source, reason);
}
