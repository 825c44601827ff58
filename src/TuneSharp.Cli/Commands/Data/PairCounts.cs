using TuneSharp.Data;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>What the pair stages (dpo, orpo, simpo) make of a dataset's preference pairs at max_seq_len: pairs encoded,
/// how many had their prompt cut (the prompt is cut first) and how many also their answers, and how many were refused.</summary>
public sealed record PairSummary(long Pairs, long PromptTruncated, long AnswersTruncated, long Refused);

/// <summary>
/// The preference pairs of a dataset encoded exactly as training encodes them (<see cref="PairEncoder"/>: one shared
/// prompt, the final assistant turn as the answer, TRL's truncation). Which end of a prompt is kept does not change the
/// counts, so the default (keep_end) is used.
/// </summary>
public static class PairCounts
{
    /// <param name="refused">Called with each pair the encoder refuses (identical answers, a prompt that renders
    /// differently before the two answers, ...).</param>
    public static PairSummary? Count(DatasetSpec spec, HfTokenizer tokenizer, ChatTemplate template, int maxSeqLen, Action<PairResult> refused,
        CancellationToken ct)
    {
        var encoder = new PairEncoder(new ExampleEncoder(tokenizer, template, new EncodingSettings(maxSeqLen, TrainOn.LastAssistant, Truncation.Truncate)));
        long pairs = 0, prompt = 0, answers = 0, bad = 0;
        foreach (var pair in DatasetReader.Read(spec, new List<DataProblem>()).OfType<PreferenceExample>())
        {
            if (pairs++ % 256 == 0) ct.ThrowIfCancellationRequested();
            var r = encoder.Encode(pair);
            if (r.Pair is null)
            {
                bad++;
                refused(r);
                continue;
            }
            if (r.PromptTruncated) prompt++;
            if (r.AnswersTruncated) answers++;
        }
        return pairs == 0 ? null : new PairSummary(pairs, prompt, answers, bad);
    }
}
