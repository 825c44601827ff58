namespace TuneSharp.Training.Optim;

/// <summary>
/// AdamW with decoupled weight decay, numerically identical to <c>torch.optim.AdamW</c> (single-tensor path, fp32
/// state): <c>p *= 1 - lr·wd</c>, then the Adam step (<see cref="AdamMoments"/>). See docs/training-math.md.
/// </summary>
public sealed class AdamW(AdamOptions options) : IUpdateRule<AdamState>
{
    public const string Name = "adamw";

    string IUpdateRule<AdamState>.Name => Name;

    public static SlotOptimizer<AdamState> Create(IReadOnlyList<ParameterGroup> groups, AdamOptions? options = null, bool masterWeights = false)
    {
        options ??= new AdamOptions();
        options.Check(Name);
        return new SlotOptimizer<AdamState>(new AdamW(options), groups, masterWeights);
    }

    public AdamState Init(TorchSharp.torch.Tensor param) => AdamState.Zeros(param);

    public AdamState Load(StateReader reader) => AdamState.Load(reader);

    public void Update(AdamState s, in ParamStep p) => Apply(p, s.ExpAvg, s.ExpAvgSq, options);

    /// <summary>The AdamW update with fp32 moments <paramref name="m"/>, <paramref name="v"/> (also used by <see cref="AdamW8bit"/>).</summary>
    public static void Apply(in ParamStep p, TorchSharp.torch.Tensor m, TorchSharp.torch.Tensor v, AdamOptions options)
    {
        // torch order: decay the weights (skipped at 0: multiplying by 1 is exact), then the moments and the step.
        if (p.WeightDecay != 0) p.Param.mul_(1 - p.Lr * p.WeightDecay);
        AdamMoments.Step(p.Param, p.Grad, m, v, p.Step, p.Lr, options);
    }
}
