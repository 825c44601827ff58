using TuneSharp.Training.Optim;
using static TorchSharp.torch;

namespace TuneSharp.Training.Loop;

/// <summary>What a recipe computes for one micro-batch: the SUM of its loss over the batch's units (tokens, pairs,
/// completions) with gradients, and optional named metrics.</summary>
public readonly record struct MicroLoss(Tensor Sum, MetricSums? Metrics = null);

/// <summary>The outcome of one optimizer step.</summary>
/// <param name="Loss">Summed loss / units of the step (the loss the gradient is of).</param>
/// <param name="Units">Units of the step (trained tokens for SFT; pairs for preference methods).</param>
public sealed record StepResult(double Loss, double GradNorm, double LearningRate, long Units, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// One optimizer step from its micro-batches, the same for every recipe: each micro-batch's summed loss is divided by
/// the units of the WHOLE step before backward (so gradient accumulation equals one large batch, whatever the split
/// and however unevenly units fall into micro-batches), then the global gradient norm is clipped, the optimizer steps
/// with the scheduled learning rate, and gradients are released. Gradient synchronisation across processes belongs
/// here, between the last backward and the clipping (docs/training-math.md).
/// After the step the young managed generation is collected (<see cref="CollectStepGarbage"/>).
/// </summary>
public sealed class StepDriver(IReadOnlyList<NamedParameter> trainable, IOptimizer optimizer, LrSchedule schedule, double baseLr,
    double? maxGradNorm, long totalSteps)
{
    /// <param name="step">Optimizer steps already taken (0 for the first).</param>
    /// <param name="units">Units of a micro-batch (e.g. its trained tokens); micro-batches with none are skipped.</param>
    /// <param name="loss">Forward of a micro-batch, called inside a dispose scope that ends after its backward.</param>
    public StepResult Step<TBatch>(long step, IReadOnlyList<TBatch> microBatches, Func<TBatch, long> units, Func<TBatch, MicroLoss> loss)
    {
        long stepUnits = microBatches.Sum(units);
        double lossSum = 0;
        var metrics = new MetricSums();
        foreach (var batch in microBatches)
        {
            if (units(batch) == 0) continue;
            using var scope = NewDisposeScope();
            var micro = loss(batch);
            // Normalise by the units of the whole step, not of this micro-batch.
            (micro.Sum / stepUnits).backward();
            lossSum += micro.Sum.item<float>();
            if (micro.Metrics is { } m) metrics.Add(m);
        }
        double gradNorm = GradClip.ClipGlobalNorm(trainable.Select(p => p.Parameter), maxGradNorm ?? double.PositiveInfinity);
        double lrFactor = schedule.Factor(step, totalSteps);
        if (stepUnits > 0) optimizer.Step(lrFactor);
        optimizer.ZeroGrad();
        CollectStepGarbage();
        return new StepResult(stepUnits > 0 ? lossSum / stepUnits : double.NaN, gradNorm, baseLr * lrFactor, stepUnits, metrics.Means());
    }

    /// <summary>
    /// A step leaves many dead tensor wrappers and arrays on the managed heap (about 3 MiB per quickstart step). The workstation GC lets
    /// generation 0 grow to about 200 MiB of such garbage before it collects when almost nothing survives, which shows as
    /// RSS the memory estimate cannot see (+150 MiB on the stories260K quickstart). One young-generation collection per
    /// step keeps the managed heap at its working size; it costs in proportion to what survives, which is little.
    /// </summary>
    public static void CollectStepGarbage() => GC.Collect(1, GCCollectionMode.Forced, blocking: true, compacting: false);
}
