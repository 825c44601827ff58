namespace TuneSharp.Training.Optim;

/// <summary>
/// Adam with an L2 penalty, numerically identical to <c>torch.optim.Adam</c> (single-tensor path, fp32 state): the
/// decay is added to the gradient (<c>g + wd·p</c>) and so passes through the moments, unlike
/// <see cref="AdamW"/>. See docs/training-math.md.
/// </summary>
public sealed class Adam(AdamOptions options) : IUpdateRule<AdamState>
{
    public const string Name = "adam";

    string IUpdateRule<AdamState>.Name => Name;

    public static SlotOptimizer<AdamState> Create(IReadOnlyList<ParameterGroup> groups, AdamOptions? options = null, bool masterWeights = false)
    {
        options ??= new AdamOptions();
        options.Check(Name);
        return new SlotOptimizer<AdamState>(new Adam(options), groups, masterWeights);
    }

    public AdamState Init(TorchSharp.torch.Tensor param) => AdamState.Zeros(param);

    public AdamState Load(StateReader reader) => AdamState.Load(reader);

    public void Update(AdamState s, in ParamStep p)
    {
        // torch: grad = grad.add(param, alpha=weight_decay), a new tensor (the parameter's .grad is not modified).
        var g = p.WeightDecay != 0 ? p.Grad.add(p.Param, alpha: p.WeightDecay) : p.Grad;
        AdamMoments.Step(p.Param, g, s.ExpAvg, s.ExpAvgSq, p.Step, p.Lr, options);
    }
}
