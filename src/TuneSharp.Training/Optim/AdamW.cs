using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>AdamW hyperparameters shared by all groups (lr and weight decay are per group).</summary>
public sealed record AdamWOptions
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;

    /// <summary>
    /// For parameters that are not fp32 (bf16): keep an fp32 master copy in the optimizer state, update it, and set
    /// the parameter from it after every step. Without it the update is computed in fp32 from the rounded parameter
    /// and rounded again (small updates can be lost). Ignored for fp32 parameters.
    /// </summary>
    public bool MasterWeights { get; init; }
}

/// <summary>The JSON-able part of the optimizer state (the tensors come from <see cref="AdamW.StateTensors"/>).</summary>
/// <param name="FormatVersion">Layout version of the state, currently 1.</param>
/// <param name="StepCount">Calls to <see cref="AdamW.Step"/> so far.</param>
/// <param name="Steps">Per parameter name: updates applied to it (parameters without a grad are skipped, as in torch).</param>
public sealed record AdamWScalarState(int FormatVersion, long StepCount, IReadOnlyDictionary<string, long> Steps);

/// <summary>
/// AdamW with decoupled weight decay, numerically identical to <c>torch.optim.AdamW</c> (single-tensor path:
/// same operations in the same order, fp32 state). Each parameter is updated inside its own dispose scope so that
/// no temporaries outlive it. See docs/training-math.md.
/// </summary>
public sealed class AdamW : IDisposable
{
    /// <summary>State tensor suffixes in <see cref="StateTensors"/>: <c>{parameter}.exp_avg</c> etc.</summary>
    public const string ExpAvgKey = "exp_avg", ExpAvgSqKey = "exp_avg_sq", MasterKey = "master";

    sealed class Slot(NamedParameter np, ParameterGroup group)
    {
        public string Name => np.Name;
        public Parameter Param => np.Parameter;
        public ParameterGroup Group => group;
        public long Step;
        public Tensor? ExpAvg, ExpAvgSq, Master;

        public bool NeedsMaster(AdamWOptions o) => o.MasterWeights && Param.dtype != ScalarType.Float32;

        public void Release()
        {
            ExpAvg?.Dispose(); ExpAvgSq?.Dispose(); Master?.Dispose();
            ExpAvg = ExpAvgSq = Master = null;
            Step = 0;
        }
    }

    readonly List<Slot> _slots = [];
    readonly Dictionary<string, Slot> _byName = new(StringComparer.Ordinal);
    bool _disposed;

    public AdamW(IReadOnlyList<ParameterGroup> groups, AdamWOptions? options = null)
    {
        Groups = groups;
        Options = options ?? new AdamWOptions();
        if (Options.Beta1 is < 0 or >= 1 || Options.Beta2 is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"AdamW: betas must be in [0, 1), got ({Options.Beta1}, {Options.Beta2})");
        foreach (var g in groups)
            foreach (var np in g.Parameters)
            {
                var slot = new Slot(np, g);
                if (!_byName.TryAdd(np.Name, slot))
                    throw new ArgumentException($"AdamW: parameter '{np.Name}' appears in more than one group (second: '{g.Name}')");
                _slots.Add(slot);
            }
    }

    public IReadOnlyList<ParameterGroup> Groups { get; }
    public AdamWOptions Options { get; }

    /// <summary>Calls to <see cref="Step"/> so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>The learning rate a group uses for a given schedule factor.</summary>
    public static double LearningRate(ParameterGroup group, double lrFactor) => group.Lr * group.LrMultiplier * lrFactor;

    /// <summary>
    /// One update of every parameter that has a gradient; <paramref name="lrFactor"/> scales each group's lr
    /// (pass <see cref="LrSchedule.Factor"/>). Gradients are read, never modified.
    /// </summary>
    public void Step(double lrFactor = 1.0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = torch.no_grad();
        foreach (var slot in _slots) Update(slot, LearningRate(slot.Group, lrFactor));
        StepCount++;
    }

    void Update(Slot s, double lr)
    {
        // One scope per parameter: the grad wrapper, casts and denom die here, so memory stays flat.
        using var scope = torch.NewDisposeScope();
        Tensor? grad = s.Param.grad;
        if (grad is null) return;
        var o = Options;
        EnsureState(s);
        s.Step++;

        // The fp32 tensor to update: the parameter itself, its master copy, or a temporary fp32 copy.
        Tensor target = s.Param.dtype == ScalarType.Float32 ? s.Param : s.Master ?? s.Param.to(ScalarType.Float32);
        Tensor g = grad.dtype == ScalarType.Float32 ? grad : grad.to(ScalarType.Float32);

        // torch order: decay the weights, then the moments, then the bias-corrected step.
        double wd = s.Group.WeightDecay;
        if (wd != 0) target.mul_(1 - lr * wd);
        s.ExpAvg!.mul_(o.Beta1).add_(g, alpha: 1 - o.Beta1);
        s.ExpAvgSq!.mul_(o.Beta2).addcmul_(g, g, value: 1 - o.Beta2);

        double biasCorrection1 = 1 - Math.Pow(o.Beta1, s.Step);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, s.Step);
        double stepSize = lr / biasCorrection1;
        // denom = sqrt(v) / sqrt(bc2) + eps, exactly as torch (not sqrt(v / bc2)).
        Tensor denom = s.ExpAvgSq.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(o.Eps);
        target.addcdiv_(s.ExpAvg, denom, value: -stepSize);

        if (!ReferenceEquals(target, s.Param)) s.Param.copy_(target);
    }

    void EnsureState(Slot s)
    {
        if (s.ExpAvg is not null) return;
        var p = s.Param;
        s.ExpAvg = torch.zeros(p.shape, ScalarType.Float32, p.device).DetachFromDisposeScope();
        s.ExpAvgSq = torch.zeros(p.shape, ScalarType.Float32, p.device).DetachFromDisposeScope();
        if (s.NeedsMaster(Options))
            s.Master = p.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope();
    }

    /// <summary>Sets every parameter's gradient to none (frees the memory, as torch's <c>set_to_none=True</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var s in _slots) s.Param.grad = null;
    }

    /// <summary>
    /// The optimizer's tensors by name (<c>{parameter}.exp_avg</c>, <c>.exp_avg_sq</c>, <c>.master</c>), fp32. They are
    /// owned by the optimizer: read or copy them (e.g. to write a checkpoint) before the next Step/LoadState/Dispose.
    /// Parameters that never had a gradient have no entries.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateTensors()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var s in _slots)
        {
            if (s.ExpAvg is null) continue;
            d[$"{s.Name}.{ExpAvgKey}"] = s.ExpAvg;
            d[$"{s.Name}.{ExpAvgSqKey}"] = s.ExpAvgSq!;
            if (s.Master is not null) d[$"{s.Name}.{MasterKey}"] = s.Master;
        }
        return d;
    }

    /// <summary>The step counters (JSON-able).</summary>
    public AdamWScalarState ScalarState() =>
        new(1, StepCount, _slots.Where(s => s.ExpAvg is not null).ToDictionary(s => s.Name, s => s.Step, StringComparer.Ordinal));

    /// <summary>
    /// Restores a state saved by <see cref="StateTensors"/> + <see cref="ScalarState"/> (tensors are copied, so the
    /// caller keeps ownership of <paramref name="tensors"/>). <paramref name="source"/> names the file in errors. A
    /// missing master copy (state saved without <see cref="AdamWOptions.MasterWeights"/>) is rebuilt from the parameter;
    /// a master copy that is not needed is ignored.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, AdamWScalarState scalars, string source = "optimizer state")
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (scalars.FormatVersion != 1)
            throw new InvalidDataException($"{source}: unsupported AdamW state format version {scalars.FormatVersion}");
        foreach (var name in scalars.Steps.Keys)
            if (!_byName.ContainsKey(name))
                throw new InvalidDataException($"{source}: state for parameter '{name}', which this optimizer does not have");
        var expected = new HashSet<string>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var s in _slots)
        {
            s.Release();
            if (!scalars.Steps.TryGetValue(s.Name, out long step)) continue;
            s.Step = step;
            s.ExpAvg = CopyState(tensors, $"{s.Name}.{ExpAvgKey}", s.Param, source, expected);
            s.ExpAvgSq = CopyState(tensors, $"{s.Name}.{ExpAvgSqKey}", s.Param, source, expected);
            if (s.NeedsMaster(Options))
                s.Master = tensors.ContainsKey($"{s.Name}.{MasterKey}")
                    ? CopyState(tensors, $"{s.Name}.{MasterKey}", s.Param, source, expected)
                    : s.Param.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope();
        }
        foreach (var key in tensors.Keys)
            if (!expected.Contains(key) && !key.EndsWith("." + MasterKey, StringComparison.Ordinal))
                throw new InvalidDataException($"{source}: unexpected optimizer tensor '{key}'");
        StepCount = scalars.StepCount;
    }

    static Tensor CopyState(IReadOnlyDictionary<string, Tensor> tensors, string key, Parameter p, string source, HashSet<string> expected)
    {
        expected.Add(key);
        if (!tensors.TryGetValue(key, out var t))
            throw new InvalidDataException($"{source}: optimizer tensor '{key}' is missing");
        if (!t.shape.SequenceEqual(p.shape))
            throw new InvalidDataException(
                $"{source}: optimizer tensor '{key}' has shape [{string.Join(", ", t.shape)}], the parameter has [{string.Join(", ", p.shape)}]");
        return t.detach().to(ScalarType.Float32, p.device).clone().DetachFromDisposeScope();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _slots) s.Release();
    }
}
