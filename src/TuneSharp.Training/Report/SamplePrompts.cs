using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Report;

/// <summary>
/// Greedy answers to the <c>eval.samples</c> prompts, shown before and after training: rendered with the template the
/// run trains with as one user turn (SFT), or continued as raw text (pretraining, <paramref name="template"/> null),
/// stopping at the model's end-of-sequence ids. The model's train/eval mode is restored.
/// </summary>
public sealed class SamplePrompts(IReadOnlyList<string> prompts, ChatTemplate? template, int maxNewTokens = 48)
{
    public IReadOnlyList<string> Prompts => prompts;

    public IReadOnlyList<string> Generate(TrainableModel model) => [.. prompts.Select(p => Answer(model, p))];

    string Answer(TrainableModel model, string prompt)
    {
        bool wasTraining = model.Model.training;
        model.Model.eval();
        var tok = model.Tokenizer;
        int[] ids = template is null
            ? [.. tok.BosTokenId is { } bos && tok.AddBosToken ? [bos] : Array.Empty<int>(), .. tok.Encode(prompt, addSpecialTokens: false)]
            : tok.Encode(template.Render(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
                addGenerationPrompt: true, bosToken: tok.BosToken, eosToken: tok.EosToken), addSpecialTokens: false);
        var stops = StopTokens.Of(GenerationConfig.Load(model.Directory), model.Model.Args, tok);
        string text = string.Concat(new TextGenerator(model.Model, tok).Stream(ids,
            new SamplingOptions { Temperature = 0, MaxNewTokens = maxNewTokens, StopTokenIds = stops }));
        if (wasTraining) model.Model.train();
        return text;
    }
}
