using System.Diagnostics;
using TuneSharp.Data.Batching;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Estimates;

/// <summary>What micro-batches cost on this machine, measured before the first step, as a fixed cost per micro-batch
/// plus a cost per padded token (a line through the smallest and the largest micro-batch of the run).</summary>
/// <param name="TrainSecondsPerToken">Forward + backward seconds per padded token.</param>
/// <param name="TrainSecondsPerBatch">Forward + backward seconds of a micro-batch beyond its tokens (per-op overheads).</param>
/// <param name="ForwardSecondsPerToken">Forward seconds per padded token without gradients (evaluation).</param>
/// <param name="ForwardSecondsPerBatch">Forward seconds of a micro-batch beyond its tokens.</param>
/// <param name="DecodeStepSeconds">Seconds of a one-token forward with logits (one generation step of a sample).</param>
/// <param name="PeakRssBytes">Peak resident memory of the process up to the end of the probe (weights, activations and
/// gradients of the largest micro-batch included), or null where it cannot be read.</param>
public sealed record ProbeResult(double TrainSecondsPerToken, double TrainSecondsPerBatch, double ForwardSecondsPerToken,
    double ForwardSecondsPerBatch, double DecodeStepSeconds, long? PeakRssBytes);

/// <summary>
/// Measures a run's real costs before training starts, on its largest and its smallest micro-batch: forward + backward
/// (the first call twice when fast, so its warm-up does not count), a forward without gradients, and a one-token
/// forward. The probe leaves no trace: gradients are released and the training RNG (dropout) is restored, so a run with
/// a probe takes the same steps as one without (exact resume depends on it).
/// </summary>
public static class StepProbe
{
    /// <summary>A probe that takes longer than this is timed once: its warm-up share is small.</summary>
    const double WarmUpMatters = 10.0;

    /// <param name="loss">The recipe's loss of a micro-batch (called inside a dispose scope).</param>
    public static ProbeResult Measure(TrainableModel model, Func<TrainBatch, MicroLoss> loss, TrainBatch largest, TrainBatch smallest)
    {
        var rng = random.get_rng_state();
        bool wasTraining = model.Model.training;
        try
        {
            model.Model.train();
            double TrainOnce(TrainBatch b)
            {
                double t = Time(() => loss(b).Sum.backward());
                ReleaseGradients(model);
                return t;
            }
            double trainLarge = TrainOnce(largest);
            if (trainLarge < WarmUpMatters) trainLarge = TrainOnce(largest);
            long? peak = ProcessMemory.PeakRssBytes();
            double trainSmall = Tokens(smallest) == Tokens(largest) ? trainLarge : TrainOnce(smallest);
            model.Model.eval();
            double forwardLarge, forwardSmall;
            using (no_grad())
            {
                forwardLarge = Time(() => loss(largest));
                forwardSmall = Tokens(smallest) == Tokens(largest) ? forwardLarge : Time(() => loss(smallest));
            }
            var (trainPerToken, trainPerBatch) = Line(Tokens(smallest), trainSmall, Tokens(largest), trainLarge);
            var (forwardPerToken, forwardPerBatch) = Line(Tokens(smallest), forwardSmall, Tokens(largest), forwardLarge);
            return new ProbeResult(trainPerToken, trainPerBatch, forwardPerToken, forwardPerBatch, DecodeStep(model), peak);
        }
        finally
        {
            ReleaseGradients(model);
            random.set_rng_state(rng);
            rng.Dispose();
            if (wasTraining) model.Model.train(); else model.Model.eval();
        }
    }

    static long Tokens(TrainBatch b) => (long)b.Rows * b.Length;

    /// <summary>seconds = perBatch + perToken x tokens through two measurements; one point (or a negative slope) puts
    /// everything on the tokens.</summary>
    static (double PerToken, double PerBatch) Line(long smallTokens, double small, long largeTokens, double large)
    {
        if (largeTokens <= smallTokens || large <= small) return (large / Math.Max(1, largeTokens), 0);
        double perToken = (large - small) / (largeTokens - smallTokens);
        return (perToken, Math.Max(0, small - perToken * smallTokens));
    }
    static double Time(Action action)
    {
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>One sample-generation step: a one-token forward to logits (cache-less, which costs about the same).</summary>
    static double DecodeStep(TrainableModel model)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var ids = zeros(1, 1, dtype: ScalarType.Int64, device: model.Device);
        model.Model.Forward(ids); // warm-up of the single-row shapes
        return Time(() => model.Model.Forward(ids));
    }

    static void ReleaseGradients(TrainableModel model)
    {
        foreach (var p in model.Trainable) p.Parameter.grad = null;
    }
}
