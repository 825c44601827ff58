using TuneSharp.Data;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Config;

namespace TuneSharp.Training.Setup;

/// <summary>Tokenized preference pairs for training and validation, with the notes shown before training starts.</summary>
public sealed record PreparedPairs(
    IReadOnlyList<TokenizedPair> Train,
    IReadOnlyList<TokenizedPair> Validation,
    ChatTemplate Template,
    string TemplateName,
    IReadOnlyList<string> Notes,
    string Fingerprint);

/// <summary>
/// From `data:` to tokenized preference pairs (OpenAI DPO JSONL, prompt/chosen/rejected records, implicit-prompt
/// transcripts): read and validate every dataset, mix, split off validation pairs (<c>data.val_size</c> /
/// <c>data.val_path</c>), then encode each pair with the run's chat template (<see cref="PairEncoder"/>). Every
/// unusable pair is reported at once with its file:line.
/// </summary>
public static class PairDataSetup
{
    /// <param name="promptTruncation">The stage section's <c>prompt_truncation</c>: which end of a long prompt is kept.</param>
    public static PreparedPairs Prepare(TrainConfig cfg, HfTokenizer tokenizer, string tokenizerDirectory, PromptTruncation promptTruncation,
        CancellationToken ct = default)
    {
        var data = cfg.Data;
        var examples = PreferenceExamples.Read(cfg, ct);

        var (template, templateName, notes) = DataSetup.ResolveTemplate(cfg, tokenizer);
        // Long pairs are always cut (prompt first), as TRL does; method.sft does not apply.
        var settings = new EncodingSettings(data.MaxSeqLen, TrainOn.LastAssistant, Truncation.Truncate);
        var encoder = new PairEncoder(new ExampleEncoder(tokenizer, template, settings), promptTruncation);
        string stage = ConfigNames.Of(cfg.Method.Stage);
        var trainPairs = Encode(examples.Train, encoder, notes, "training", stage, ct);
        var valPairs = Encode(examples.Validation, encoder, notes, "validation", stage, ct);
        if (data.ValSize > 0 && valPairs.Count == 0)
            notes.Add($"warning: data.val_size {data.ValSize} of {examples.TrainBeforeCap} pair(s) leaves no validation pair; evaluation will not run");
        if (examples.DuplicatesRemoved > 0) notes.Add($"{examples.DuplicatesRemoved} exact duplicate pair(s) removed");
        string fingerprint = DataSetup.DataKey(cfg, tokenizerDirectory, template, settings) ?? "";
        return new PreparedPairs(trainPairs, valPairs, template, templateName, notes, fingerprint);
    }

    static List<TokenizedPair> Encode(IReadOnlyList<Example> examples, PairEncoder encoder, List<string> notes, string part, string stage, CancellationToken ct)
    {
        var pairs = new List<TokenizedPair>();
        var problems = new List<string>();
        int truncated = 0;
        foreach (var example in examples)
        {
            if (pairs.Count % 256 == 0) ct.ThrowIfCancellationRequested();
            if (example is not PreferenceExample pair)
            {
                problems.Add($"{example.Source}: method.stage {stage} needs preference pairs (chosen and rejected), this is a {example.GetType().Name}");
                continue;
            }
            var r = encoder.Encode(pair);
            if (r.Pair is { } p) pairs.Add(p);
            else problems.Add($"{r.Source}: {r.Reason}");
            if (r.Status == EncodeStatus.Truncated) truncated++;
        }
        if (problems.Count > 0)
            throw new DataValidationException($"{problems.Count} {part} pair(s) could not be encoded:\n  " + string.Join("\n  ", problems.Take(20)));
        if (truncated > 0) notes.Add($"{truncated} {part} pair(s) truncated to max_seq_len (prompt first)");
        return pairs;
    }

    /// <summary>The pairs of an epoch in training order (shuffled by seed + epoch), <c>train.micro_batch_size</c> pairs
    /// per micro-batch, <c>train.grad_accum</c> micro-batches per step.</summary>
    public static BatchPlan Plan(TrainConfig cfg, IReadOnlyList<TokenizedPair> pairs, int padId)
    {
        if (pairs.Count < cfg.Train.MicroBatchSize)
            throw new ArgumentException($"train.micro_batch_size ({cfg.Train.MicroBatchSize}) is larger than the training set ({pairs.Count} pairs after tokenization)");
        return new BatchPlan(cfg.Train.GradAccum, epoch =>
            Batches(BatchPlan.Order(pairs, cfg.Train.Seed, epoch, cfg.Data.Shuffle).Order, cfg.Train.MicroBatchSize, padId));
    }

    /// <summary>Consecutive pairs, <paramref name="microBatch"/> per micro-batch (<see cref="Collate"/>).</summary>
    public static IReadOnlyList<TrainBatch> Batches(IReadOnlyList<TokenizedPair> pairs, int microBatch, int padId) =>
        [.. pairs.Chunk(microBatch).Select(chunk => Collate(chunk, padId))];

    /// <summary>One micro-batch of <paramref name="pairs"/>.Count = b pairs: 2b rows, the b chosen rows then the b
    /// rejected rows, padded to the longest, so both sides go through one forward; with their margins and precomputed
    /// reference log-probs when the pairs carry them.</summary>
    public static TrainBatch Collate(IReadOnlyList<TokenizedPair> pairs, int padId) =>
        Collator.Pad([.. pairs.Select(p => p.Chosen), .. pairs.Select(p => p.Rejected)], padId) with
        {
            PairMargins = pairs.Any(p => p.Margin is not null) ? [.. pairs.Select(p => p.Margin ?? 0)] : null,
            ReferenceLogProbs = pairs.All(p => p.Reference is not null)
                ? [.. pairs.Select(p => p.Reference!.Value.Chosen), .. pairs.Select(p => p.Reference!.Value.Rejected)]
                : null,
        };
}
