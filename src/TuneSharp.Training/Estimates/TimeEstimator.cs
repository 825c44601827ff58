using System.Diagnostics;
using TorchSharp;
using TuneSharp.Models;
using TuneSharp.Training.Observers;
using static TorchSharp.torch;

namespace TuneSharp.Training.Estimates;

/// <summary>A training time estimate: FLOPs per token, total FLOPs, the throughput used, and the seconds.</summary>
public sealed record TimeEstimate(double FlopsPerToken, double TotalFlops, double FlopsPerSecond, double Seconds)
{
    public string Describe() =>
        $"time estimate {Fmt.Duration(Seconds)}: {TotalFlops:0.00e+00} FLOPs at {FlopsPerSecond / 1e9:0} GFLOP/s "
        + $"({FlopsPerToken:0.00e+00} FLOPs/token)";
}

/// <summary>
/// Training time from matmul FLOPs and a measured matmul throughput. Per token, forward costs 2 FLOPs per matmul
/// weight (layer projections, output head, and adapters) plus 4*H*D*T for the explicit attention (QK^T and PV over
/// the full T x T). Backward costs one forward for the activation gradients plus 2 FLOPs per trainable weight for
/// the weight gradients (full fine-tuning: 6N in total; frozen weights get no weight gradient). Gradient
/// checkpointing adds one forward. Non-matmul work (norms, softmax, optimizer) is not counted: the estimate is a
/// lower bound unless <c>efficiency</c> is calibrated below 1.
/// </summary>
public static class TimeEstimator
{
    public static double ForwardFlopsPerToken(DecoderArgs a, long adapterParameters, int seqLen) =>
        2.0 * (ParameterCount.Of(a).MatmulWeights(a) + adapterParameters)
        + 4.0 * a.NumHiddenLayers * a.NumAttentionHeads * a.HeadDim * seqLen;

    public static double TrainingFlopsPerToken(DecoderArgs a, long trainableParameters, bool adapterTraining, int seqLen,
        bool checkpointing)
    {
        double forward = ForwardFlopsPerToken(a, adapterTraining ? trainableParameters : 0, seqLen);
        double backward = forward + 2.0 * trainableParameters;
        return forward + backward + (checkpointing ? forward : 0);
    }

    /// <param name="tokens">All tokens the run processes (padding included), over all steps.</param>
    /// <param name="flopsPerSecond">Matmul throughput, e.g. from <see cref="MeasureMatmulFlops"/>.</param>
    /// <param name="efficiency">Fraction of the matmul throughput the whole step reaches (1 = matmul-bound).</param>
    public static TimeEstimate Estimate(DecoderArgs a, long trainableParameters, bool adapterTraining, int seqLen,
        bool checkpointing, double tokens, double flopsPerSecond, double efficiency = 1.0)
    {
        if (flopsPerSecond <= 0 || efficiency <= 0)
            throw new ArgumentOutOfRangeException(nameof(flopsPerSecond), $"time estimate: throughput {flopsPerSecond} and efficiency {efficiency} must be > 0");
        double perToken = TrainingFlopsPerToken(a, trainableParameters, adapterTraining, seqLen, checkpointing);
        double total = perToken * tokens;
        return new TimeEstimate(perToken, total, flopsPerSecond, total / (flopsPerSecond * efficiency));
    }

    /// <summary>
    /// Matmul throughput (FLOP/s) of [rows, inner] x [inner, outer] in <paramref name="dtype"/> on the CPU, timed for
    /// about <paramref name="budgetSeconds"/> after one warm-up (size it like the model: rows = T, inner = hidden,
    /// outer = intermediate).
    /// </summary>
    public static double MeasureMatmulFlops(ScalarType dtype, int rows, int inner, int outer, double budgetSeconds = 0.2)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Constant inputs: the measurement must not draw from the training RNG (exact resume depends on it).
        var x = full(rows, inner, 0.5, dtype: dtype);
        var w = full(inner, outer, 0.25, dtype: dtype);
        Multiply(x, w); // warm-up: thread pool, kernel selection, the output buffer
        int runs = 0;
        var sw = Stopwatch.StartNew();
        do
        {
            Multiply(x, w);
            runs++;
        } while (sw.Elapsed.TotalSeconds < budgetSeconds);
        return 2.0 * rows * inner * outer * runs / sw.Elapsed.TotalSeconds;
    }

    static void Multiply(Tensor x, Tensor w)
    {
        using var scope = NewDisposeScope();
        torch.mm(x, w);
    }
}
