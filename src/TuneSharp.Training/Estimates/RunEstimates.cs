using TuneSharp.Training.Config;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Estimates;

/// <summary>The pre-flight estimates a run shows in its banner and compares with the measurement in its summary.</summary>
/// <param name="Memory">The analytic breakdown by component (shown; the peak when nothing was measured).</param>
/// <param name="PeakBytes">The estimated peak RSS: measured at the end of the probe on the largest micro-batch (weights,
/// data, that batch's activations and gradients) plus the optimizer state the first step allocates (the probe runs no
/// optimizer step); the analytic total where the peak cannot be read.</param>
public sealed record RunEstimate(MemoryEstimate Memory, double PeakBytes, TimeEstimate Time, RunWorkload Workload)
{
    public double Seconds => Time.Seconds;

    public IReadOnlyList<string> Describe() =>
    [
        PeakBytes != Memory.Total
            ? $"memory estimate {Fmt.Bytes(PeakBytes)}: peak of a probe on the largest micro-batch plus the optimizer state (by component, at max_seq_len: {Fmt.Bytes(Memory.Total)}: {Memory.Breakdown()})"
            : $"memory estimate {Fmt.Bytes(PeakBytes)}: {Memory.Breakdown()}",
        Time.Describe(Workload),
    ];
}

/// <summary>Memory and time estimates for a run, from its config, model, a measured probe micro-batch and the work left.</summary>
public static class RunEstimates
{
    /// <summary>
    /// Resident memory of the process once libtorch is initialised (a small forward and backward so its thread pools
    /// and autograd engine exist), before any model is loaded: the estimate's runtime component.
    /// </summary>
    public static long? RuntimeBaseline()
    {
        using (var scope = NewDisposeScope())
        {
            var x = ones(8, 8, requires_grad: true);
            mm(x, x).sum().backward();
        }
        return ProcessMemory.CurrentRssBytes();
    }

    /// <param name="runtimeBytes">Resident memory of the process before the model was loaded (<see cref="RuntimeBaseline"/>).</param>
    /// <param name="sequencesPerMicroBatch">Rows of one micro-batch as the recipe builds them (e.g. 2x for chosen and rejected).</param>
    /// <param name="startupSeconds">Wall time of the run so far (loading, data preparation).</param>
    public static RunEstimate For(TrainConfig cfg, TrainableModel model, long? runtimeBytes, RunWorkload workload, ProbeResult probe,
        double startupSeconds, int? sequencesPerMicroBatch = null)
    {
        var a = model.Model.Args;
        long trainable = model.Trainable.Sum(p => p.Parameter.numel());
        var memory = MemoryEstimator.Estimate(new MemoryEstimateInput
        {
            Model = a,
            DTypeBytes = model.DType == ScalarType.Float32 ? 4 : 2,
            TrainableParameters = trainable,
            AdapterTraining = cfg.Method.IsAdapter,
            TrainableDTypeBytes = cfg.Method.IsAdapter ? 4 : null, // adapters are fp32 even on a bf16 base
            MicroBatch = sequencesPerMicroBatch ?? cfg.Train.MicroBatchSize,
            SeqLen = cfg.Data.MaxSeqLen,
            GradientCheckpointing = cfg.Train.GradCheckpointing,
            QuantizedBase = cfg.Method.Type == MethodType.Qlora,
            QuantBlockSize = cfg.Method.Quant.BlockSize,
            QuantDoubleQuant = cfg.Method.Quant.DoubleQuant,
            RuntimeBytes = runtimeBytes,
            Optimizer = cfg.Optimizer.Name,
            SgdMomentum = cfg.Optimizer.Momentum != 0,
            TrainableShapes = model.Trainable.Select(p => p.Parameter.shape).ToList(),
            ReferenceCopy = cfg.Method.HoldsReferenceCopy,
        });
        double peakBytes = probe.PeakRssBytes is { } peak ? peak + memory.Optimizer : memory.Total;
        double flopsPerToken = TimeEstimator.TrainingFlopsPerToken(a, trainable, cfg.Method.IsAdapter, cfg.Data.MaxSeqLen, cfg.Train.GradCheckpointing);
        var time = TimeEstimator.Estimate(workload, probe, startupSeconds, flopsPerToken);
        return new RunEstimate(memory, peakBytes, time, workload);
    }
}
