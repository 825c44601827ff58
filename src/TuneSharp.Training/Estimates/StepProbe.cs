using System.Diagnostics;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Estimates;

/// <summary>What one real micro-batch costs on this machine, measured before the first step.</summary>
/// <param name="TrainSecondsPerToken">Forward + backward seconds per padded token of a training micro-batch.</param>
/// <param name="ForwardSecondsPerToken">Forward seconds per padded token without gradients (evaluation).</param>
/// <param name="DecodeStepSeconds">Seconds of a one-token forward with logits (one generation step of a sample).</param>
/// <param name="PeakRssBytes">Peak resident memory of the process up to the end of the probe (weights, activations and
/// gradients of a full micro-batch included), or null where it cannot be read.</param>
public sealed record ProbeResult(double TrainSecondsPerToken, double ForwardSecondsPerToken, double DecodeStepSeconds, long? PeakRssBytes);

/// <summary>
/// Measures a run's real costs on its first micro-batch before training starts: forward + backward (timed twice when
/// fast, so the first call's warm-up does not count), a forward without gradients, and a one-token forward. The probe
/// leaves no trace: gradients are released and the training RNG (dropout) is restored, so a run with a probe takes the
/// same steps as one without (exact resume depends on it).
/// </summary>
public static class StepProbe
{
    /// <summary>A probe that takes longer than this is timed once: its warm-up share is small.</summary>
    const double WarmUpMatters = 2.0;

    /// <param name="microBatchLoss">The recipe's loss of its first micro-batch (called inside a dispose scope).</param>
    /// <param name="paddedTokens">Rows x length of that micro-batch, as the model sees it.</param>
    public static ProbeResult Measure(TrainableModel model, Func<MicroLoss> microBatchLoss, long paddedTokens)
    {
        var rng = random.get_rng_state();
        bool wasTraining = model.Model.training;
        try
        {
            model.Model.train();
            double train = Time(() => microBatchLoss().Sum.backward());
            ReleaseGradients(model);
            if (train < WarmUpMatters)
            {
                train = Time(() => microBatchLoss().Sum.backward());
                ReleaseGradients(model);
            }
            long? peak = ProcessMemory.PeakRssBytes();
            model.Model.eval();
            double forward;
            using (no_grad()) forward = Time(() => microBatchLoss());
            double decode = DecodeStep(model);
            double tokens = Math.Max(1, paddedTokens);
            return new ProbeResult(train / tokens, forward / tokens, decode, peak);
        }
        finally
        {
            ReleaseGradients(model);
            random.set_rng_state(rng);
            rng.Dispose();
            if (wasTraining) model.Model.train(); else model.Model.eval();
        }
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
