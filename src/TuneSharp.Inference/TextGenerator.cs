using TuneSharp.Models;
using TuneSharp.Tokenizers;

namespace TuneSharp.Inference;

/// <summary>
/// Streams text for one prompt: token ids through the tokenizer's streaming decoder, cut at the first stop string.
/// Text that could be the start of a stop string is held back until it is known not to be one.
/// </summary>
public sealed class TextGenerator(CausalLM model, HfTokenizer tokenizer)
{
    readonly Generator _generator = new(model);

    public GenerationStats LastStats => _generator.LastStats;

    /// <summary>Why the last <see cref="Stream"/> ended: "stop" (stop token or string) or "length".</summary>
    public string FinishReason { get; private set; } = "length";

    public IEnumerable<string> Stream(int[] promptIds, SamplingOptions options)
    {
        var decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        var stops = options.StopStrings.Where(s => s.Length > 0).ToArray();
        int holdBack = stops.Length == 0 ? 0 : stops.Max(s => s.Length) - 1;
        var text = new System.Text.StringBuilder();
        int emitted = 0, produced = 0;
        FinishReason = "length";

        foreach (var step in _generator.Generate([promptIds], options))
        {
            produced++;
            text.Append(decoder.Push(step[0]!.Value));
            string all = text.ToString();
            int cut = FirstStop(all, stops, Math.Max(0, emitted - holdBack));
            if (cut >= 0)
            {
                FinishReason = "stop";
                if (cut > emitted) yield return all[emitted..cut];
                yield break;
            }
            int safe = all.Length - holdBack;
            if (safe > emitted)
            {
                yield return all[emitted..safe];
                emitted = safe;
            }
        }
        if (produced < options.MaxNewTokens) FinishReason = "stop"; // ended on a stop token
        text.Append(decoder.Flush());
        string rest = text.ToString();
        int end = FirstStop(rest, stops, Math.Max(0, emitted - holdBack));
        if (end >= 0) FinishReason = "stop";
        else end = rest.Length;
        if (end > emitted) yield return rest[emitted..end];
    }

    static int FirstStop(string text, string[] stops, int from)
    {
        int best = -1;
        foreach (var s in stops)
        {
            int i = text.IndexOf(s, from, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }
}
