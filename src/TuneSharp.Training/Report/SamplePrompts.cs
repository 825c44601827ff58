using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Report;

/// <summary>
/// Greedy answers to the <c>eval.samples</c> prompts, shown before and after training: rendered with the template the
/// run trains with as one user turn (SFT), or continued as raw text (pretraining, <paramref name="template"/> null),
/// stopping at the model's end-of-sequence ids and (chat) the template's end-of-turn token. The model's train/eval mode is restored.
/// </summary>
public sealed class SamplePrompts(IReadOnlyList<string> prompts, ChatTemplate? template, int maxNewTokens = 48)
{
    public IReadOnlyList<string> Prompts => prompts;

    /// <summary>Generation steps of one round of samples at most (every prompt to its token limit).</summary>
    public int MaxDecodeSteps => prompts.Count * maxNewTokens;

    public IReadOnlyList<string> Generate(TrainableModel model, CancellationToken ct = default) =>
        [.. prompts.Select(p => { ct.ThrowIfCancellationRequested(); return Answer(model, p); })];

    string Answer(TrainableModel model, string prompt)
    {
        bool wasTraining = model.Model.training;
        model.Model.eval();
        var tok = model.Tokenizer;
        var eos = StopTokens.Of(GenerationConfig.Load(model.Directory), model.Model.Args, tok);
        // Chat samples use the prompt rendering and end-of-turn stop of chat/serve/generate (ChatPrompter).
        var prompter = template is null ? null : new ChatPrompter(template, tok);
        int[] ids = prompter is null
            ? [.. tok.BosTokenId is { } bos && tok.AddBosToken ? [bos] : Array.Empty<int>(), .. tok.Encode(prompt, addSpecialTokens: false)]
            : prompter.Encode(ChatPrompter.UserMessage(prompt));
        var stops = prompter?.StopIds(eos) ?? eos;
        string text = string.Concat(new TextGenerator(model.Model, tok).Stream(ids,
            new SamplingOptions { Temperature = 0, MaxNewTokens = maxNewTokens, StopTokenIds = stops }));
        if (wasTraining) model.Model.train();
        return text;
    }
}
