using System.Collections.Concurrent;
using TuneSharp.Data;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>Batches and cells (rows x length) one epoch takes with one collation, and the share of real tokens (null
/// without batches).</summary>
public sealed record PaddingSummary(long Batches, long Cells, double? Efficiency);

/// <summary>
/// Token statistics of a dataset encoded with a tokenizer and chat template. Prompt/trained tokens count the kept samples
/// after truncation (what one epoch trains on); lengths and the histogram are the full lengths before truncation.
/// </summary>
public sealed record TokenSummary(
    string Model, string Template, int MaxSeqLen, TrainOn TrainOn, int MicroBatch,
    long Kept, long Truncated, long Dropped, long Failed,
    long PromptTokens, long TrainedTokens,
    long MinLength, double MeanLength, long MaxLength, IReadOnlyList<HistogramBin> Histogram,
    PaddingSummary Padded, PaddingSummary Packed, IReadOnlyList<string> DropReasons)
{
    /// <summary>Real tokens one epoch processes (prompt + trained).</summary>
    public long EpochTokens => PromptTokens + TrainedTokens;

    /// <summary>The preference pairs as the pair stages encode them (null when the dataset has none).</summary>
    public PairSummary? Pairs { get; init; }
}

/// <summary>
/// What `tunesharp data validate` found: the validator's report, problems of the encoding pass, token statistics, and why
/// training would have nothing to train on (<see cref="NothingToTrain"/>; null when some example is usable).
/// </summary>
public sealed record DataReport(ValidationReport Validation, IReadOnlyList<DataProblem> Problems, long TotalProblems,
    IReadOnlyDictionary<string, long> ProblemCounts, TokenSummary? Tokens, string? NothingToTrain)
{
    public bool IsValid => TotalProblems == 0 && NothingToTrain == null;
}

/// <summary>Builds a <see cref="DataReport"/>: a validation pass over the whole dataset, then (with a tokenizer) an encoding pass.</summary>
public static class DataInspector
{
    /// <summary>Code of a problem found while encoding (template error, assistant turn not found in the rendering).</summary>
    public const string EncodingFailed = "encoding_failed";

    public sealed record TokenOptions(TokenizerContext Context, int MaxSeqLen, TrainOn TrainOn, int MicroBatch);

    public static DataReport Inspect(DatasetSpec spec, int maxProblems, TokenOptions? tokens, CancellationToken ct = default)
    {
        var validation = DataValidator.Validate(spec, new ValidationOptions { MaxProblems = maxProblems });
        var problems = validation.Problems.ToList();
        var counts = new SortedDictionary<string, long>(validation.ProblemCounts.ToDictionary(), StringComparer.Ordinal);
        long total = validation.TotalProblems;
        if (validation.ExampleCount == 0)
            return new DataReport(validation, problems, total, counts, null, total == 0 ? "the dataset has no examples" : "none of its records is a usable example (see the problems)");
        if (tokens is null) return new DataReport(validation, problems, total, counts, null, null);

        var (template, description) = tokens.Context.Template(required: validation.Formats.Keys.Any(DataInputs.IsChat));
        var encoder = new ExampleEncoder(tokens.Context.Tokenizer, template, new EncodingSettings(tokens.MaxSeqLen, tokens.TrainOn));
        var stats = new EncodingStats();
        var samples = new List<TokenizedSample>();
        var lengths = new LengthHistogram();
        var dropReasons = new List<string>();
        var failed = new HashSet<SourceLocation>();
        // Bad records were reported by the validation pass; here they are skipped silently. The examples in flight are
        // queued in input order, the order results come back in, so a refused one can be examined for the hint.
        var inFlight = new ConcurrentQueue<Example>();
        var examples = DatasetReader.Read(spec, new List<DataProblem>()).Select(DataInputs.ForEncoding)
            .Select(e => { inFlight.Enqueue(e); return e; });
        foreach (var r in DatasetEncoder.EncodeAll(examples, encoder, stats, cancellation: ct))
        {
            inFlight.TryDequeue(out var example);
            if (r.FullLength > 0) lengths.Add(r.FullLength);
            switch (r.Status)
            {
                case EncodeStatus.Problem:
                    failed.Add(r.Source);
                    AddProblem(new DataProblem(r.Source, EncodingFailed, null, r.Reason ?? "could not encode", EncodingHints.For(encoder, example!)));
                    break;
                case EncodeStatus.Dropped:
                    if (dropReasons.Count < 5) dropReasons.Add(r.ToString());
                    break;
                default:
                    samples.Add(r.Sample!);
                    break;
            }
        }
        // Pairs are encoded once more as the pair stages do; a refusal not already reported above is a problem too.
        var pairs = validation.Formats.ContainsKey(DataFormat.Preference)
            ? PairCounts.Count(spec, tokens.Context.Tokenizer, template, tokens.MaxSeqLen, r =>
            {
                if (failed.Add(r.Source)) AddProblem(new DataProblem(r.Source, EncodingFailed, null, r.Reason ?? "could not encode",
                    "method.stage dpo, orpo and simpo refuse this pair: fix or remove it"));
            }, ct)
            : null;
        var tok = tokens.Context.Tokenizer;
        int padId = tok.PadTokenId ?? tok.EosTokenId ?? 0;
        var summary = new TokenSummary(tokens.Context.ModelDir, description, tokens.MaxSeqLen, tokens.TrainOn, tokens.MicroBatch,
            stats.Kept, stats.Truncated, stats.Dropped, stats.Problems, stats.PromptTokens, stats.TrainedTokens,
            lengths.Min, lengths.Mean, lengths.Max, lengths.Bins(),
            Padded(samples, tokens.MicroBatch, padId), Packed(samples, tokens.MaxSeqLen, tokens.MicroBatch, padId), dropReasons) { Pairs = pairs };
        // Pairs are trainable by the pair stages even when their SFT rendering (the chosen conversation, cut at its tail)
        // keeps no answer token: those stages cut the prompt first.
        bool usable = samples.Count > 0 || pairs is { } pc && pc.Pairs > pc.Refused;
        return new DataReport(validation, problems, total, counts, summary, usable ? null : NoSampleLeft(stats, tokens.MaxSeqLen));

        void AddProblem(DataProblem problem)
        {
            total++;
            counts[EncodingFailed] = counts.GetValueOrDefault(EncodingFailed) + 1;
            if (problems.Count < maxProblems) problems.Add(problem);
        }
    }

    /// <summary>Why no sample is left after encoding (training would stop with an empty training set).</summary>
    static string NoSampleLeft(EncodingStats stats, int maxSeqLen)
    {
        var why = new List<string>();
        if (stats.Dropped > 0) why.Add($"{stats.Dropped:N0} dropped (no trained token within max_seq_len {maxSeqLen})");
        if (stats.Problems > 0) why.Add($"{stats.Problems:N0} could not be encoded");
        return $"no example is left to train on: {string.Join(", ", why)}";
    }

    /// <summary>One sample per row, micro batches in dataset order (as training without packing, before shuffling).</summary>
    static PaddingSummary Padded(List<TokenizedSample> samples, int microBatch, int padId)
    {
        var batches = samples.Chunk(microBatch).Select(chunk => Collator.Pad(chunk, padId)).ToList();
        return Summarize(batches);
    }

    static PaddingSummary Packed(List<TokenizedSample> samples, int rowLength, int microBatch, int padId) =>
        Summarize(samples.Count == 0 ? [] : Collator.Pack(samples, rowLength, microBatch, padId));

    static PaddingSummary Summarize(IReadOnlyList<TrainBatch> batches) =>
        new(batches.Count, batches.Sum(b => (long)b.Rows * b.Length), batches.Count == 0 ? null : Collator.Efficiency(batches));

    /// <summary>Power-of-two length histogram (bin bounds 1, 2, 4, ...), as the validator's.</summary>
    sealed class LengthHistogram
    {
        readonly long[] bins = new long[40];
        long count, sum, min = long.MaxValue;
        public long Min => count == 0 ? 0 : min;
        public long Max { get; private set; }
        public double Mean => count == 0 ? 0 : (double)sum / count;

        public void Add(long length)
        {
            count++;
            sum += length;
            min = Math.Min(min, length);
            Max = Math.Max(Max, length);
            bins[length <= 1 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)length - 1)]++;
        }

        public IReadOnlyList<HistogramBin> Bins()
        {
            if (count == 0) return [];
            int first = Array.FindIndex(bins, c => c > 0), last = Array.FindLastIndex(bins, c => c > 0);
            return [.. Enumerable.Range(first, last - first + 1).Select(i => new HistogramBin(1L << i, bins[i]))];
        }
    }
}
