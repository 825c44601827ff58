using TuneSharp.Data;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Config;

namespace TuneSharp.Training.Setup;

/// <summary>Tokenized KTO examples for training and validation, with the notes shown before training starts.</summary>
public sealed record PreparedCompletions(
    IReadOnlyList<TokenizedCompletion> Train,
    IReadOnlyList<TokenizedCompletion> Validation,
    ChatTemplate Template,
    string TemplateName,
    IReadOnlyList<string> Notes,
    string Fingerprint);

/// <summary>
/// From `data:` to tokenized KTO examples: completions labelled desirable or undesirable (TRL's unpaired format,
/// LLaMA-Factory's KTO format), and preference pairs unpaired as TRL's <c>unpair_preference_dataset</c> does (chosen
/// desirable, rejected undesirable). Each example is encoded with the run's chat template (<see cref="KtoEncoder"/>);
/// every unusable example is reported at once with its file:line, and training data with only one label is refused.
/// Batches hold the examples' completion rows and their KL rows (<see cref="Batches"/>).
/// </summary>
public static class KtoDataSetup
{
    public static PreparedCompletions Prepare(TrainConfig cfg, HfTokenizer tokenizer, string tokenizerDirectory, CancellationToken ct = default)
    {
        var data = cfg.Data;
        var examples = PreferenceExamples.Read(cfg, ct);
        var (template, templateName, notes) = DataSetup.ResolveTemplate(cfg, tokenizer);
        // Long examples are always cut (prompt first), as TRL does; method.sft does not apply.
        var settings = new EncodingSettings(data.MaxSeqLen, TrainOn.LastAssistant, Truncation.Truncate);
        var encoder = new KtoEncoder(new ExampleEncoder(tokenizer, template, settings), cfg.Method.Kto.PromptTruncation);
        var train = Encode(examples.Train, encoder, notes, "training", ct);
        var validation = Encode(examples.Validation, encoder, notes, "validation", ct);
        RequireBothLabels(train);
        notes.AddRange(Balance(train, cfg.Method.Kto));
        if (validation.Count > 0 && validation.All(e => e.Desirable == validation[0].Desirable))
            notes.Add($"warning: every validation example is {Label(validation[0].Desirable)}; eval_rewards/margins cannot be reported");
        if (data.ValSize > 0 && validation.Count == 0)
            notes.Add($"warning: data.val_size {data.ValSize} of {examples.TrainBeforeCap} example(s) leaves no validation example; evaluation will not run");
        if (examples.DuplicatesRemoved > 0) notes.Add($"{examples.DuplicatesRemoved} exact duplicate example(s) removed");
        string fingerprint = DataSetup.DataKey(cfg, tokenizerDirectory, template, settings) ?? "";
        return new PreparedCompletions(train, validation, template, templateName, notes, fingerprint);
    }

    static List<TokenizedCompletion> Encode(IReadOnlyList<Example> examples, KtoEncoder encoder, List<string> notes, string part, CancellationToken ct)
    {
        var encoded = new List<TokenizedCompletion>();
        var problems = new List<string>();
        int truncated = 0, unpaired = 0;
        foreach (var example in examples)
        {
            if (encoded.Count % 256 == 0) ct.ThrowIfCancellationRequested();
            IEnumerable<KtoExample> items;
            switch (example)
            {
                case KtoExample k:
                    items = [k];
                    break;
                case PreferenceExample pair when KtoEncoder.SameAnswers(pair):
                    problems.Add($"{example.Source}: chosen and rejected are identical: the same completion would be both desirable and undesirable");
                    continue;
                case PreferenceExample pair:
                    items = KtoEncoder.Unpair(pair);
                    unpaired++;
                    break;
                default:
                    problems.Add($"{example.Source}: method.stage kto needs completions labelled desirable or undesirable (or preference pairs), this is a {example.GetType().Name}");
                    continue;
            }
            var results = items.Select(encoder.Encode).ToList();
            foreach (var r in results.Where(r => r.Example is null)) problems.Add($"{r.Source}: {r.Reason}");
            if (results.Any(r => r.Example is null)) continue;
            encoded.AddRange(results.Select(r => r.Example!));
            truncated += results.Count(r => r.Status == EncodeStatus.Truncated);
        }
        if (problems.Count > 0)
            throw new DataValidationException($"{problems.Count} {part} example(s) could not be encoded:\n  " + string.Join("\n  ", problems.Take(20)));
        if (truncated > 0) notes.Add($"{truncated} {part} example(s) truncated to max_seq_len (prompt first)");
        if (unpaired > 0) notes.Add($"{unpaired} {part} preference pair(s) unpaired: chosen desirable, rejected undesirable");
        return encoded;
    }

    static string Label(bool desirable) => desirable ? "desirable (label true)" : "undesirable (label false)";

    /// <summary>
    /// KTO compares each completion's reward with the KL estimate from the other side: with one label only, the loss just
    /// pushes every completion up (or down) against a reference point it never sees contrasted. TRL warns; we refuse,
    /// naming each file and where its examples are.
    /// </summary>
    static void RequireBothLabels(IReadOnlyList<TokenizedCompletion> train)
    {
        if (train.Any(e => e.Desirable) && train.Any(e => !e.Desirable)) return;
        bool label = train[0].Desirable;
        var files = train.GroupBy(e => e.Source.File).Select(g =>
            $"{g.Key}:{g.Min(e => e.Source.Line)}-{g.Max(e => e.Source.Line)}: {g.Count()} {Label(label)}");
        throw new DataValidationException(
            $"method.stage kto needs desirable and undesirable examples, but all {train.Count} training examples are {Label(label)}:\n  " +
            string.Join("\n  ", files) +
            "\nKTO weighs each completion against a KL reference point; with one label the loss has nothing to contrast. " +
            "Add examples with the other label (or use method.stage sft to imitate the desirable ones).");
    }

    /// <summary>TRL's advice: desirable_weight x desirable count over undesirable_weight x undesirable count should lie in [1, 4/3].</summary>
    static IEnumerable<string> Balance(IReadOnlyList<TokenizedCompletion> train, KtoSection kto)
    {
        int good = train.Count(e => e.Desirable), bad = train.Count - good;
        double ratio = kto.DesirableWeight * good / (kto.UndesirableWeight * bad);
        yield return $"{good} desirable, {bad} undesirable training example(s)";
        if (ratio < 1 || ratio > 4.0 / 3)
            yield return $"warning: desirable_weight x {good} / (undesirable_weight x {bad}) = {ratio:0.###}, outside [1, 4/3] that the KTO " +
                         "authors recommend: set method.kto.desirable_weight / undesirable_weight to balance the labels";
    }

    /// <summary>
    /// The micro-batches of <paramref name="examples"/> (in this order): consecutive groups of
    /// <paramref name="microBatch"/> x <paramref name="groupBatches"/> examples share one KL estimate (an optimizer step's
    /// examples in training), each group split into <paramref name="microBatch"/>-example micro-batches. Within a group
    /// of n, example i's KL row is its completion after the prompt of example (i + 1) mod n (TRL's +1 offset). A lone
    /// last example joins the group and micro-batch before it (its KL row would be its own prompt).
    /// </summary>
    public static IReadOnlyList<TrainBatch> Batches(IReadOnlyList<TokenizedCompletion> examples, int microBatch, int groupBatches, int maxSeqLen, int padId)
    {
        var groups = Chunks(examples, microBatch * groupBatches);
        if (groups.Count > 1 && groups[^1].Count == 1) MergeLast(groups);
        var batches = new List<TrainBatch>();
        foreach (var group in groups)
        {
            var kl = group.Select((e, i) => e.After(group[(i + 1) % group.Count].Prompt, maxSeqLen)).ToList();
            var chunks = Chunks(group, microBatch);
            if (chunks.Count > groupBatches) MergeLast(chunks); // the lone example joined: still one step's micro-batches
            int start = 0;
            foreach (var chunk in chunks)
            {
                batches.Add(Collate(chunk, kl.GetRange(start, chunk.Count), padId));
                start += chunk.Count;
            }
        }
        return batches;
    }

    static List<List<T>> Chunks<T>(IReadOnlyList<T> items, int size) => [.. items.Chunk(size).Select(c => c.ToList())];

    static void MergeLast<T>(List<List<T>> chunks)
    {
        chunks[^2].AddRange(chunks[^1]);
        chunks.RemoveAt(chunks.Count - 1);
    }

    /// <summary>One micro-batch of b examples: 2b rows, the b completion rows then their b KL rows, padded to the longest,
    /// with the labels in <see cref="TrainBatch.Desirable"/>. Only the completion rows' tokens count as trained.</summary>
    public static TrainBatch Collate(IReadOnlyList<TokenizedCompletion> examples, IReadOnlyList<TokenizedSample> klRows, int padId)
    {
        if (klRows.Count != examples.Count) throw new ArgumentException($"{examples.Count} examples but {klRows.Count} KL rows", nameof(klRows));
        var batch = Collator.Pad([.. examples.Select(e => e.Row), .. klRows], padId);
        return batch with
        {
            Desirable = [.. examples.Select(e => e.Desirable)],
            TrainedTokens = examples.Sum(e => e.Row.TrainedCount),
            Samples = examples.Count,
        };
    }
}
