using System.Text;

namespace TuneSharp.Data;

/// <summary>Validation settings. <see cref="TokenCounter"/> + <see cref="MaxSeqLen"/> enable the <c>too_long</c> check.</summary>
public sealed record ValidationOptions
{
    public int MaxProblems { get; init; } = 50;
    public Func<Example, int>? TokenCounter { get; init; }
    public int? MaxSeqLen { get; init; }
}

/// <summary>Everything found by <see cref="DataValidator.Validate(DatasetSpec, ValidationOptions?)"/>.</summary>
public sealed record ValidationReport(
    string Path,
    long ExampleCount,
    long TotalProblems,
    IReadOnlyList<DataProblem> Problems,
    IReadOnlyDictionary<string, long> ProblemCounts,
    IReadOnlyDictionary<DataFormat, long> Formats,
    long Turns,
    long Characters,
    string LengthUnit,
    long MinLength,
    long MaxLength,
    double MeanLength,
    IReadOnlyList<HistogramBin> Histogram)
{
    public bool IsValid => TotalProblems == 0;

    /// <summary>A human-readable summary: formats, counts, histogram, then the listed problems.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{Path}: {ExampleCount} examples, {TotalProblems} problems");
        if (Formats.Count > 0) sb.AppendLine("formats: " + string.Join(", ", Formats.Select(f => $"{f.Key} {f.Value}")));
        sb.AppendLine($"turns: {Turns}, characters: {Characters}");
        if (ExampleCount > 0)
        {
            sb.AppendLine($"length ({LengthUnit}): min {MinLength}, mean {MeanLength:F1}, max {MaxLength}");
            long peak = Histogram.Max(b => b.Count);
            foreach (var bin in Histogram)
                sb.AppendLine($"  <= {bin.UpperBound,8} {bin.Count,8} {new string('#', (int)Math.Ceiling(40.0 * bin.Count / peak))}");
        }
        if (ProblemCounts.Count > 0) sb.AppendLine("problems by code: " + string.Join(", ", ProblemCounts.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        foreach (var p in Problems) sb.AppendLine("  " + p);
        if (TotalProblems > Problems.Count) sb.AppendLine($"  ... and {TotalProblems - Problems.Count} more");
        return sb.ToString();
    }
}

/// <summary>Scans a whole dataset and reports all problems (listing capped), per-code counts, formats and length statistics.</summary>
public static class DataValidator
{
    public static ValidationReport Validate(DatasetSpec spec, ValidationOptions? options = null)
    {
        options ??= new ValidationOptions();
        var listed = new List<DataProblem>();
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        void Report(DataProblem p)
        {
            total++;
            counts[p.Code] = counts.GetValueOrDefault(p.Code) + 1;
            if (listed.Count < options.MaxProblems) listed.Add(p);
        }
        var stats = new DatasetStats(options.TokenCounter);
        var formats = new SortedDictionary<DataFormat, long>();
        foreach (var (example, format) in DatasetReader.ReadDetailed(spec with { MaxSamples = null }, Report))
        {
            long length = stats.Add(example);
            formats[format] = formats.GetValueOrDefault(format) + 1;
            if (options.TokenCounter != null && options.MaxSeqLen is int max && length > max)
                Report(new DataProblem(example.Source, ProblemCodes.TooLong, null, $"example is {length} tokens, longer than max_seq_len {max}",
                    "shorten it, raise max_seq_len, or let truncation drop the tail"));
        }
        return new ValidationReport(spec.Path, stats.Examples, total, listed, counts, formats, stats.Turns, stats.Characters, stats.LengthUnit,
            stats.Examples == 0 ? 0 : stats.MinLength, stats.MaxLength, stats.MeanLength, stats.Histogram());
    }
}
