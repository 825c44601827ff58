namespace TuneSharp.Data.Batching;

/// <summary>
/// Turns tokenized samples into batches, either padded (one sample per row, right padding to the longest row) or
/// packed (several samples per row, positions restarting at 0, segment ids isolating attention; the last token of a
/// sample never predicts the first of the next).
/// </summary>
public static class Collator
{
    /// <summary>One sample per row, right-padded to the longest sample. Right padding needs no key mask: causal
    /// attention never lets a real token see the padding after it, and padded positions carry no labels.</summary>
    public static TrainBatch Pad(IReadOnlyList<TokenizedSample> samples, int padId)
    {
        if (samples.Count == 0) throw new ArgumentException("no samples", nameof(samples));
        int rows = samples.Count, length = samples.Max(s => s.Length);
        var ids = new long[rows * length];
        var labels = new long[rows * length];
        var positions = new long[rows * length];
        Array.Fill(ids, padId);
        Array.Fill(labels, TrainBatch.Ignore);
        int real = 0, trained = 0;
        for (int r = 0; r < rows; r++)
        {
            int offset = r * length;
            real += samples[r].Length;
            trained += Write(samples[r], ids, labels, positions, offset);
            for (int t = samples[r].Length; t < length; t++) positions[offset + t] = t;
        }
        return new TrainBatch(rows, length, ids, labels, positions, null)
        {
            RealTokens = real, TrainedTokens = trained, Samples = rows,
        };
    }

    /// <summary>
    /// Packs samples into rows of <paramref name="rowLength"/> tokens by first-fit decreasing (deterministic: ties keep
    /// input order), then groups rows into batches of <paramref name="rowsPerBatch"/>. Samples longer than a row must be
    /// truncated or dropped before packing.
    /// </summary>
    public static IReadOnlyList<TrainBatch> Pack(IReadOnlyList<TokenizedSample> samples, int rowLength, int rowsPerBatch, int padId)
    {
        if (rowLength < 2) throw new ArgumentOutOfRangeException(nameof(rowLength), rowLength, "must be >= 2");
        var rows = new List<List<TokenizedSample>>();
        var free = new List<int>();
        var order = Enumerable.Range(0, samples.Count).OrderByDescending(i => samples[i].Length).ThenBy(i => i);
        foreach (int i in order)
        {
            var s = samples[i];
            if (s.Length > rowLength)
                throw new ArgumentException($"sample {s.Source?.ToString() ?? i.ToString()} has {s.Length} tokens, more than the row length {rowLength}");
            int target = free.FindIndex(f => f >= s.Length);
            if (target < 0)
            {
                rows.Add([]);
                free.Add(rowLength);
                target = rows.Count - 1;
            }
            rows[target].Add(s);
            free[target] -= s.Length;
        }
        var batches = new List<TrainBatch>();
        for (int start = 0; start < rows.Count; start += rowsPerBatch)
            batches.Add(PackRows(rows.Skip(start).Take(rowsPerBatch).ToList(), rowLength, padId));
        return batches;
    }

    static TrainBatch PackRows(List<List<TokenizedSample>> rowSamples, int rowLength, int padId)
    {
        int rows = rowSamples.Count;
        // Trim to the longest filled row: no point computing columns that are padding in every row.
        int length = rowSamples.Max(r => r.Sum(s => s.Length));
        var ids = new long[rows * length];
        var labels = new long[rows * length];
        var positions = new long[rows * length];
        var segments = new long[rows * length];
        Array.Fill(ids, padId);
        Array.Fill(labels, TrainBatch.Ignore);
        int real = 0, trained = 0, samples = 0;
        for (int r = 0; r < rows; r++)
        {
            int offset = r * length, segment = 0;
            foreach (var s in rowSamples[r])
            {
                segment++;
                samples++;
                real += s.Length;
                trained += Write(s, ids, labels, positions, offset);
                Array.Fill(segments, segment, offset, s.Length);
                offset += s.Length;
            }
            // Padding at the row end: segment 0 (attends only to padding), positions keep counting, no labels.
            for (int t = offset, p = 0; t < (r + 1) * length; t++, p++) positions[t] = p;
        }
        return new TrainBatch(rows, length, ids, labels, positions, segments)
        {
            RealTokens = real, TrainedTokens = trained, Samples = samples,
        };
    }

    /// <summary>Writes one sample at <paramref name="offset"/>: ids, next-token labels where the next token is trained,
    /// positions from 0. Returns the number of labels written.</summary>
    static int Write(TokenizedSample s, long[] ids, long[] labels, long[] positions, int offset)
    {
        int n = 0;
        for (int t = 0; t < s.Length; t++)
        {
            ids[offset + t] = s.InputIds[t];
            positions[offset + t] = t;
            if (t + 1 < s.Length && s.Trained[t + 1])
            {
                labels[offset + t] = s.InputIds[t + 1];
                n++;
            }
        }
        return n;
    }

    /// <summary>Fraction of batch cells holding real tokens (1 = no padding).</summary>
    public static double Efficiency(IEnumerable<TrainBatch> batches)
    {
        long real = 0, cells = 0;
        foreach (var b in batches)
        {
            real += b.RealTokens;
            cells += (long)b.Rows * b.Length;
        }
        return cells == 0 ? 1 : (double)real / cells;
    }
}
