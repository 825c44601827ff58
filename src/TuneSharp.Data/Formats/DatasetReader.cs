namespace TuneSharp.Data;

/// <summary>Streams normalized <see cref="Example"/>s from a dataset file or directory (see docs/data-formats.md).</summary>
public static class DatasetReader
{
    /// <summary>
    /// Reads examples lazily. With <paramref name="problems"/>, bad records are added there and skipped; without it the first
    /// problem throws <see cref="DataFormatException"/> ("file:line: code [field]: message. hint").
    /// </summary>
    public static IEnumerable<Example> Read(DatasetSpec spec, IList<DataProblem>? problems = null)
    {
        Action<DataProblem> sink = problems is null ? p => throw new DataFormatException(p) : problems.Add;
        return ReadDetailed(spec, sink).Select(r => r.Example);
    }

    /// <summary>Examples with their detected format; every problem goes to <paramref name="onProblem"/>.</summary>
    internal static IEnumerable<(Example Example, DataFormat Format)> ReadDetailed(DatasetSpec spec, Action<DataProblem> onProblem)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spec.MaxRecordBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spec.MaxDepth);
        int count = 0;
        var recordProblems = new List<DataProblem>();
        foreach (string file in RecordSources.Files(spec))
        {
            foreach (var raw in RecordSources.Read(file, spec))
            {
                if (raw.Problem is { } p)
                {
                    onProblem(p);
                    continue;
                }
                recordProblems.Clear();
                var example = RecordMapper.Map(raw, spec, recordProblems, out var format);
                foreach (var rp in recordProblems) onProblem(rp);
                if (example is null) continue;
                yield return (example, format!.Value);
                if (spec.MaxSamples is int max && ++count >= max) yield break;
            }
        }
    }
}
