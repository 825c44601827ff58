using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>SGD's hyperparameter; lr and weight decay are per group. Dampening is 0 and Nesterov off, as torch's defaults.</summary>
public sealed record SgdOptions
{
    public double Momentum { get; init; }
}

/// <summary>The momentum buffer of one parameter; none without momentum (plain SGD keeps no tensor).</summary>
public sealed class SgdState : IParamState
{
    public const string MomentumBufferKey = "momentum_buffer";

    /// <summary>fp32, shaped like the parameter; null until the first update (torch starts it as a copy of the first
    /// gradient, not as zeros) and always without momentum.</summary>
    public Tensor? MomentumBuffer { get; set; }

    public IEnumerable<(string Suffix, Tensor Tensor)> Tensors() =>
        MomentumBuffer is null ? [] : [(MomentumBufferKey, MomentumBuffer)];

    public void Dispose() => MomentumBuffer?.Dispose();
}

/// <summary>
/// SGD with momentum, numerically identical to <c>torch.optim.SGD</c> (single-tensor path, dampening 0, no Nesterov):
/// <c>d = g + wd·p</c> (an L2 penalty), <c>buf = d</c> at the first step then <c>buf = μ·buf + d</c>, <c>p -= lr·buf</c>
/// (with μ = 0, <c>p -= lr·d</c> and no state). See docs/training-math.md.
/// </summary>
public sealed class Sgd(SgdOptions options) : IUpdateRule<SgdState>
{
    public const string Name = "sgd";

    string IUpdateRule<SgdState>.Name => Name;

    public static SlotOptimizer<SgdState> Create(IReadOnlyList<ParameterGroup> groups, SgdOptions? options = null, bool masterWeights = false)
    {
        options ??= new SgdOptions();
        if (options.Momentum is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"{Name}: momentum must be in [0, 1), got {options.Momentum}");
        return new SlotOptimizer<SgdState>(new Sgd(options), groups, masterWeights);
    }

    public SgdState Init(Tensor param) => new();

    public SgdState Load(StateReader reader) =>
        new() { MomentumBuffer = options.Momentum != 0 ? reader.Fp32(SgdState.MomentumBufferKey) : null };

    public void Update(SgdState s, in ParamStep p)
    {
        Tensor d = p.WeightDecay != 0 ? p.Grad.add(p.Param, alpha: p.WeightDecay) : p.Grad;
        if (options.Momentum != 0)
        {
            if (s.MomentumBuffer is null) s.MomentumBuffer = d.clone().DetachFromDisposeScope();
            else s.MomentumBuffer.mul_(options.Momentum).add_(d, alpha: 1.0); // alpha = 1 - dampening
            d = s.MomentumBuffer;
        }
        p.Param.add_(d, alpha: -p.Lr);
    }
}
