namespace TuneSharp.Training.Optim;

/// <summary>Learning-rate schedule shapes (HF <c>lr_scheduler_type</c> names in comments).</summary>
public enum LrScheduleKind
{
    /// <summary>"constant_with_warmup" (and "constant" when there is no warmup): linear warmup, then 1.</summary>
    Constant,
    /// <summary>"linear": linear warmup, then linear decay to 0 at the last step.</summary>
    Linear,
    /// <summary>"cosine": linear warmup, then half a cosine down to 0.</summary>
    Cosine,
    /// <summary>"cosine_with_min_lr": linear warmup, then half a cosine down to <c>MinLrRatio</c>.</summary>
    CosineWithMinLr,
    /// <summary>"warmup_stable_decay": linear warmup, constant, then a decay to <c>MinLrRatio</c> over the last steps.</summary>
    WarmupStableDecay,
}

/// <summary>Shape of the decay phase of <see cref="LrScheduleKind.WarmupStableDecay"/> (HF <c>decay_type</c>).</summary>
public enum WsdDecayShape
{
    /// <summary>0.5 (1 + cos(pi p)): HF's default.</summary>
    Cosine,
    /// <summary>1 - p.</summary>
    Linear,
    /// <summary>1 - sqrt(p): the shape Hägele et al. 2024 ("Scaling Laws and Compute-Optimal Training Beyond Fixed
    /// Training Durations") found best.</summary>
    OneMinusSqrt,
}

/// <summary>
/// A learning-rate schedule as a pure function of the optimizer step: <c>lr(step) = baseLr * Factor(step, total)</c>,
/// with the formulas of Hugging Face transformers' <c>get_scheduler</c> (see docs/training-math.md). <c>step</c> is the
/// number of optimizer steps already taken (0 for the first update), as HF's LambdaLR does, so with warmup the first
/// update uses lr 0.
/// </summary>
/// <param name="WarmupSteps">Warmup length in steps; when null, <c>ceil(WarmupRatio * totalSteps)</c> as HF.</param>
/// <param name="MinLrRatio">Final lr as a fraction of the base lr (CosineWithMinLr, WarmupStableDecay).</param>
/// <param name="DecayRatio">WSD only: fraction of all steps spent decaying, <c>round(DecayRatio * totalSteps)</c> steps.</param>
public sealed record LrSchedule(
    LrScheduleKind Kind = LrScheduleKind.Linear,
    long? WarmupSteps = null,
    double WarmupRatio = 0.0,
    double MinLrRatio = 0.0,
    double DecayRatio = 0.1,
    WsdDecayShape DecayShape = WsdDecayShape.Cosine)
{
    /// <summary>Warmup steps for a run of <paramref name="totalSteps"/> optimizer steps.</summary>
    public long Warmup(long totalSteps) => WarmupSteps ?? (long)Math.Ceiling(WarmupRatio * totalSteps);

    /// <summary>The lr multiplier at optimizer step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public double Factor(long step, long totalSteps)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"lr schedule: step {step} < 0");
        long warmup = Warmup(totalSteps);
        // Every kind warms up linearly from 0 (HF: current_step / max(1, num_warmup_steps)).
        if (step < warmup) return (double)step / Math.Max(1, warmup);
        double progress = (double)(step - warmup) / Math.Max(1, totalSteps - warmup);
        return Kind switch
        {
            LrScheduleKind.Constant => 1.0,
            LrScheduleKind.Linear => Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmup)),
            LrScheduleKind.Cosine => Math.Max(0.0, HalfCosine(progress)),
            LrScheduleKind.CosineWithMinLr => Math.Max(0.0, HalfCosine(progress) * (1 - MinLrRatio) + MinLrRatio),
            LrScheduleKind.WarmupStableDecay => Wsd(step, totalSteps, warmup),
            _ => throw new NotSupportedException($"lr schedule: unknown kind {Kind}"),
        };
    }

    // HF's cosine with num_cycles = 0.5: 0.5 * (1 + cos(pi * 2 * 0.5 * progress)).
    static double HalfCosine(double progress) => 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * progress));

    double Wsd(long step, long totalSteps, long warmup)
    {
        long decay = (long)Math.Round(DecayRatio * totalSteps, MidpointRounding.AwayFromZero);
        long stable = Math.Max(0, totalSteps - warmup - decay);
        if (step < warmup + stable) return 1.0;
        if (step >= warmup + stable + decay) return MinLrRatio;
        double p = (double)(step - warmup - stable) / Math.Max(1, decay);
        double shape = DecayShape switch
        {
            WsdDecayShape.Cosine => HalfCosine(p),
            WsdDecayShape.Linear => 1.0 - p,
            WsdDecayShape.OneMinusSqrt => 1.0 - Math.Sqrt(p),
            _ => throw new NotSupportedException($"lr schedule: unknown WSD decay shape {DecayShape}"),
        };
        return Math.Max(0.0, shape * (1.0 - MinLrRatio) + MinLrRatio);
    }
}
