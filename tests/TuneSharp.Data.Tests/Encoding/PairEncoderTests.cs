using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using Xunit;
using static TuneSharp.Data.Tests.Encoding.EncodingTestData;

namespace TuneSharp.Data.Tests.Encoding;

/// <summary>Preference pairs on a real tokenizer and template: one shared prompt, the final assistant turn as each
/// completion, TRL-like truncation, and clear problems for pairs that cannot teach anything.</summary>
public sealed class PairEncoderTests
{
    static readonly SourceLocation Src = new("pairs.jsonl", 7);

    static PreferenceExample Pair(string chosen, string rejected, string prompt = "Name a color.") => new(Src,
        [new ChatMessage("system", "Be brief."), new ChatMessage("user", prompt)],
        [new ChatMessage("assistant", chosen)], [new ChatMessage("assistant", rejected)]);

    static PairEncoder Encoder(int maxSeqLen = 4096, PromptTruncation side = PromptTruncation.KeepEnd, Truncation truncation = Truncation.Truncate) =>
        new(new ExampleEncoder(Tokenizer("qwen3"), OwnTemplate("qwen3"), new EncodingSettings(maxSeqLen, Truncation: truncation)), side);

    [Fact]
    public void Pair_SharesThePrompt_AndEachRowIsTheWholeConversation()
    {
        var tok = Tokenizer("qwen3");
        var sft = new ExampleEncoder(tok, OwnTemplate("qwen3"), new EncodingSettings(4096, TrainOn.LastAssistant));
        var example = Pair("Blue.", "I would rather not say anything about colors today.");
        var r = Encoder().Encode(example);
        Assert.Equal(EncodeStatus.Encoded, r.Status);
        var p = r.Pair!;
        // Each row equals the SFT encoding of prompt + that answer, ids and trained flags alike.
        var chosenSft = sft.Encode(new ChatExample(Src, [.. example.Prompt, .. example.Chosen])).Sample!;
        Assert.Equal(chosenSft.InputIds[..p.Chosen.Length], p.Chosen.InputIds);
        Assert.Equal(chosenSft.Trained[..p.Chosen.Length], p.Chosen.Trained);
        Assert.EndsWith("Blue.<|im_end|>", tok.Decode(p.ChosenCompletion, skipSpecialTokens: false)); // after Qwen3's empty think block
        Assert.EndsWith("<|im_start|>assistant\n", tok.Decode(p.Prompt, skipSpecialTokens: false));
        Assert.Equal(p.Prompt, p.Rejected.InputIds[..p.Prompt.Length]);
    }

    [Fact]
    public void IdenticalAnswers_AreAProblem_NamingTheLine()
    {
        var r = Encoder().Encode(Pair("Red.", "Red."));
        Assert.Equal(EncodeStatus.Problem, r.Status);
        Assert.Contains("identical", r.Reason);
        Assert.Equal(Src, r.Source);
    }

    [Fact]
    public void EmptyAnswer_IsAProblem()
    {
        var r = Encoder().Encode(Pair("Red.", ""));
        Assert.Equal(EncodeStatus.Problem, r.Status);
        Assert.Contains("rejected answer is empty", r.Reason);
    }

    [Theory]
    [InlineData(PromptTruncation.KeepEnd)]
    [InlineData(PromptTruncation.KeepStart)]
    public void LongPrompt_IsCutFirst_FromTheConfiguredSide(PromptTruncation side)
    {
        string prompt = string.Join(" ", Enumerable.Range(0, 200).Select(i => $"word{i}"));
        var full = Encoder().Encode(Pair("Green.", "Purple and gold.", prompt)).Pair!;
        int max = full.Prompt.Length + full.RejectedCompletion.Length - 10;
        var r = Encoder(max, side).Encode(Pair("Green.", "Purple and gold.", prompt));
        Assert.Equal(EncodeStatus.Truncated, r.Status);
        var p = r.Pair!;
        Assert.Equal(full.ChosenCompletion, p.ChosenCompletion);
        Assert.Equal(full.RejectedCompletion, p.RejectedCompletion);
        Assert.Equal(full.Prompt.Length - 10, p.Prompt.Length);
        Assert.Equal(side == PromptTruncation.KeepEnd ? full.Prompt[10..] : full.Prompt[..^10], p.Prompt);
        Assert.True(p.Rejected.Length <= max);
        Assert.Contains("prompt", r.Reason);
    }

    [Fact]
    public void LongAnswers_AreCutAtTheEnd_AfterThePromptKeepsHalf()
    {
        string longAnswer = string.Join(" ", Enumerable.Range(0, 300).Select(i => $"color{i}"));
        var full = Encoder().Encode(Pair(longAnswer, "Red.")).Pair!;
        int max = 64;
        var p = Encoder(max).Encode(Pair(longAnswer, "Red.")).Pair!;
        Assert.Equal(Math.Min(full.Prompt.Length, max / 2), p.Prompt.Length);
        Assert.Equal(max, p.Chosen.Length);
        Assert.Equal(full.ChosenCompletion[..(max - p.Prompt.Length)], p.ChosenCompletion);
        Assert.Equal(full.RejectedCompletion, p.RejectedCompletion); // already short enough
    }

    [Fact]
    public void DropPolicy_DropsTooLongPairs()
    {
        string longAnswer = string.Join(" ", Enumerable.Range(0, 300).Select(i => $"color{i}"));
        var r = Encoder(64, truncation: Truncation.Drop).Encode(Pair(longAnswer, "Red."));
        Assert.Equal(EncodeStatus.Dropped, r.Status);
        Assert.Contains("max_seq_len 64", r.Reason);
    }
}
