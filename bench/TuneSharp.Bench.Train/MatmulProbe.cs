using System.Diagnostics;
using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Bench.Train;

/// <summary>GEMM throughput at a model's projection shapes: [M, in] x [in, out] for q, k/v, o, gate/up and down.</summary>
public static class MatmulProbe
{
    public sealed record Shape(string Name, int M, int K, int N, double Gflops);

    public sealed record Result(string DType, IReadOnlyList<Shape> Shapes)
    {
        /// <summary>The best shape's median: the peak the MFU of this dtype is measured against.</summary>
        public double PeakGflops => Shapes.Max(s => s.Gflops);
    }

    public static Result Measure(DecoderArgs a, int m, ScalarType dtype, int repeats = 7)
    {
        int q = a.NumAttentionHeads * a.HeadDim, kv = a.NumKeyValueHeads * a.HeadDim, d = a.HiddenSize, f = a.IntermediateSize;
        var shapes = new (string Name, int K, int N)[] { ("q_proj", d, q), ("k/v_proj", d, kv), ("o_proj", q, d), ("gate/up_proj", d, f), ("down_proj", f, d) };
        var results = new List<Shape>();
        foreach (var (name, k, n) in shapes)
        {
            using var scope = NewDisposeScope();
            var x = randn(m, k).to(dtype);
            var w = randn(k, n).to(dtype);
            var times = new List<double>();
            for (int i = 0; i <= repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                using (var y = x.mm(w)) { }
                if (i > 0) times.Add(clock.Elapsed.TotalSeconds); // the first run warms up
            }
            results.Add(new Shape(name, m, k, n, 2.0 * m * k * n / Stats.Median(times) / 1e9));
        }
        return new Result(dtype == ScalarType.BFloat16 ? "bf16" : "fp32", results);
    }
}
