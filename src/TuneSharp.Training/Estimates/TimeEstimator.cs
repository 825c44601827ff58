using TuneSharp.Models;
using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Estimates;

/// <summary>What the rest of a run computes, for the time estimate.</summary>
/// <param name="TrainPaddedTokens">Tokens (padding included) the remaining steps run through the model, forward and backward.</param>
/// <param name="EvalPasses">Held-out evaluations still to come (the baseline and the final one included).</param>
/// <param name="TrainMicroBatches">Micro-batches the remaining steps run.</param>
/// <param name="EvalPaddedTokens">Tokens (padding included) of one evaluation pass.</param>
/// <param name="EvalBatches">Micro-batches of one evaluation pass.</param>
/// <param name="DecodeSteps">Generation steps of the samples still to come (at most max-new-tokens per prompt).</param>
public sealed record RunWorkload(double TrainPaddedTokens, double TrainMicroBatches, int EvalPasses, double EvalPaddedTokens, int EvalBatches, int DecodeSteps);

/// <summary>A run's wall time: what has passed (start-up) and, from a probe micro-batch's measured costs, the steps,
/// evaluations and samples still to come.</summary>
public sealed record TimeEstimate(double StartupSeconds, double TrainSeconds, double EvalSeconds, double SampleSeconds, double FlopsPerToken)
{
    public double Seconds => StartupSeconds + TrainSeconds + EvalSeconds + SampleSeconds;

    /// <summary>Model FLOP/s the probe reached in training (matmuls only).</summary>
    public double AchievedFlopsPerSecond(RunWorkload w) => TrainSeconds > 0 ? FlopsPerToken * w.TrainPaddedTokens / TrainSeconds : 0;

    public string Describe(RunWorkload w) =>
        $"time estimate {Fmt.Duration(Seconds)}: training {Fmt.Duration(TrainSeconds)} | evaluation {Fmt.Duration(EvalSeconds)} ({w.EvalPasses} passes) "
        + $"| samples {Fmt.Duration(SampleSeconds)} | start-up {Fmt.Duration(StartupSeconds)} "
        + $"(measured on a probe micro-batch: {AchievedFlopsPerSecond(w) / 1e9:0.0} GFLOP/s of {FlopsPerToken:0.00e+00} FLOPs/token)";
}

/// <summary>
/// Training time from measured probe micro-batches (<see cref="StepProbe"/>): forward + backward seconds per padded token
/// and per micro-batch times the tokens and micro-batches still to train, forward costs times the evaluation tokens and
/// batches, and the one-token step times the sample tokens. A model-FLOP count is kept beside it to report the throughput reached: per token,
/// forward costs 2 FLOPs per matmul weight (layer projections, output head, and adapters) plus 4*H*D*T for the
/// explicit attention (QK^T and PV over the full T x T); backward costs one forward for the activation gradients plus
/// 2 FLOPs per trainable weight for the weight gradients (full fine-tuning: 6N in total; frozen weights get no weight
/// gradient); gradient checkpointing adds one forward. The optimizer step, checkpoints and final outputs are not counted.
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

    public static TimeEstimate Estimate(RunWorkload w, ProbeResult probe, double startupSeconds, double flopsPerToken) => new(
        startupSeconds,
        w.TrainPaddedTokens * probe.TrainSecondsPerToken + w.TrainMicroBatches * probe.TrainSecondsPerBatch,
        w.EvalPasses * (w.EvalPaddedTokens * probe.ForwardSecondsPerToken + w.EvalBatches * probe.ForwardSecondsPerBatch),
        w.DecodeSteps * probe.DecodeStepSeconds,
        flopsPerToken);
}
