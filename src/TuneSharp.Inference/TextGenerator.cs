using TuneSharp.Models;
using TuneSharp.Tokenizers;

namespace TuneSharp.Inference;

/// <summary>
/// Streams text for one prompt: the tokens of <see cref="Generator"/> through a <see cref="TextStream"/> (streaming
/// decoder, cut at the first stop string).
/// </summary>
public sealed class TextGenerator(CausalLM model, HfTokenizer tokenizer)
{
    readonly Generator _generator = new(model);

    public GenerationStats LastStats => _generator.LastStats;

    /// <summary>Why the last <see cref="Stream"/> ended: "stop" (stop token or string) or "length".</summary>
    public string FinishReason { get; private set; } = "length";

    public IEnumerable<string> Stream(int[] promptIds, SamplingOptions options)
    {
        var text = new TextStream(tokenizer, options.StopStrings);
        int produced = 0;
        FinishReason = "length";

        foreach (var step in _generator.Generate([promptIds], options))
        {
            produced++;
            string piece = text.Push(step[0]!.Value);
            if (piece.Length > 0) yield return piece;
            if (text.Stopped)
            {
                FinishReason = "stop";
                yield break;
            }
        }
        string rest = text.Finish();
        if (produced < options.MaxNewTokens || text.Stopped) FinishReason = "stop"; // a stop token, or a stop string at the end
        if (rest.Length > 0) yield return rest;
    }
}
