using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Estimates;

/// <summary>The pre-flight estimates a run shows in its banner and compares with the measurement in its summary.</summary>
public sealed record RunEstimate(MemoryEstimate Memory, TimeEstimate Time)
{
    public IReadOnlyList<string> Describe() => [.. Memory.Describe(), Time.Describe()];
}

/// <summary>Memory and time estimates for a run, from its config, model and the tokens it will process.</summary>
public static class RunEstimates
{
    /// <param name="runtimeBytes">Resident memory of the process before the model was loaded.</param>
    /// <param name="paddedTokensLeft">Tokens (padding included) the remaining steps will run through the model.</param>
    /// <param name="sequencesPerMicroBatch">Rows of one micro-batch as the recipe builds them (e.g. 2x for chosen and rejected).</param>
    public static RunEstimate For(TrainConfig cfg, TrainableModel model, long? runtimeBytes, double paddedTokensLeft,
        int? sequencesPerMicroBatch = null, int forwardsPerStep = 1)
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
        });
        // Matmul throughput measured now (~0.2 s) at the model's shapes, at an assumed 50% step efficiency (norms,
        // softmax, optimizer and data handling are not matmuls).
        double flops = TimeEstimator.MeasureMatmulFlops(model.DType, Math.Min(cfg.Data.MaxSeqLen, 512), a.HiddenSize, a.IntermediateSize);
        var time = TimeEstimator.Estimate(a, trainable, cfg.Method.IsAdapter, cfg.Data.MaxSeqLen, cfg.Train.GradCheckpointing,
            paddedTokensLeft * forwardsPerStep, flops, efficiency: 0.5);
        return new RunEstimate(memory, time);
    }
}
