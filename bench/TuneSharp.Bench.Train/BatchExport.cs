using System.Text;
using System.Text.Json;
using TuneSharp.Data.Batching;

namespace TuneSharp.Bench.Train;

/// <summary>
/// The micro-batches TuneSharp trains on, written for the PyTorch side: JSON lines, a header
/// <c>{"format": "tunesharp-bench-batches/1", "batches": n}</c>, then per micro-batch
/// <c>{"rows", "length", "real_tokens", "trained_tokens", "input_ids": [rows*length], "labels": [rows*length]}</c>
/// (row-major; labels aligned: labels[t] is the target of position t, -100 = not trained).
/// </summary>
public static class BatchExport
{
    public const string Format = "tunesharp-bench-batches/1";

    public static void Write(TextWriter w, IReadOnlyList<TrainBatch> batches)
    {
        w.Write(JsonSerializer.Serialize(new { format = Format, batches = batches.Count }));
        w.Write('\n');
        foreach (var b in batches)
        {
            if (b.SegmentIds != null) throw new ArgumentException("packed batches cannot be exported: the baseline trains padded batches");
            w.Write(JsonSerializer.Serialize(new
            {
                rows = b.Rows, length = b.Length, real_tokens = b.RealTokens, trained_tokens = b.TrainedTokens,
                input_ids = b.InputIds, labels = b.Labels,
            }));
            w.Write('\n');
        }
    }

    public static void Write(string path, IReadOnlyList<TrainBatch> batches)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        Write(w, batches);
    }
}
