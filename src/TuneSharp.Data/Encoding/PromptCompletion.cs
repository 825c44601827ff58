using System.Text.Json.Nodes;

namespace TuneSharp.Data.Encoding;

/// <summary>
/// What preference encoders share: a prompt + answer rendered and tokenized as one conversation (so the boundary
/// tokenizes as at inference), split into the prompt tokens and the completion (the final assistant turn, the tokens the
/// SFT encoder would train, its end-of-turn included); and TRL's truncation rule for a prompt and its answer(s).
/// </summary>
public sealed class PromptCompletion(ExampleEncoder encoder)
{
    // Untruncated (the caller's rule applies); only the final assistant turn is trained: the completion.
    readonly ExampleEncoder _whole = new(encoder.Tokenizer, encoder.Template,
        encoder.Settings with { MaxSeqLen = int.MaxValue, TrainOn = TrainOn.LastAssistant, Truncation = Truncation.Truncate }, encoder.TemplateVariables);

    /// <summary>The prompt and completion tokens of <paramref name="prompt"/> + <paramref name="answer"/>, or why there
    /// are none; <paramref name="side"/> names the answer in messages ("chosen", "completion").</summary>
    public (int[] Prompt, int[] Completion, string? Error) Split(SourceLocation source, IReadOnlyList<ChatMessage> prompt,
        IReadOnlyList<ChatMessage> answer, JsonArray? tools, string side)
    {
        if (answer.All(m => string.IsNullOrEmpty(m.Content) && m.ToolCalls is null)) return ([], [], $"the {side} answer is empty");
        var result = _whole.Encode(new ChatExample(source, [.. prompt, .. answer], tools));
        if (result.Sample is not { } s) return ([], [], $"{side}: {result.Reason}");
        int first = Array.IndexOf(s.Trained, true);
        int last = Array.LastIndexOf(s.Trained, true);
        if (first < 0) return ([], [], $"the {side} answer has no token to train");
        // The completion is the trained span; tokens the template writes after it (a trailing newline) are dropped.
        return (s.InputIds[..first], s.InputIds[first..(last + 1)], null);
    }

    /// <summary>
    /// TRL's rule when prompt + the longest answer exceed <paramref name="maxSeqLen"/>: the prompt is cut first, down to
    /// half of max_seq_len at most; what is left of max_seq_len is the answers' budget. Returns the prompt tokens kept and
    /// the answer budget.
    /// </summary>
    public static (int PromptKeep, int AnswerKeep) Budget(int promptLength, int longestAnswer, int maxSeqLen)
    {
        int excess = promptLength + longestAnswer - maxSeqLen;
        int promptKeep = Math.Max(Math.Min(promptLength, maxSeqLen / 2), promptLength - excess);
        return (promptKeep, maxSeqLen - promptKeep);
    }

    /// <summary>The kept prompt tokens: the last <paramref name="keep"/> (<see cref="PromptTruncation.KeepEnd"/>) or the first.</summary>
    public static int[] CutPrompt(int[] prompt, int keep, PromptTruncation side) =>
        side == PromptTruncation.KeepEnd ? prompt[^keep..] : prompt[..keep];

    /// <summary>The first <paramref name="n"/> tokens (all when shorter).</summary>
    public static int[] Head(int[] ids, int n) => ids.Length <= n ? ids : ids[..n];
}
