using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>The per-parameter state of one algorithm (e.g. Adam's two moments). Owns its tensors.</summary>
public interface IParamState : IDisposable
{
    /// <summary>The state tensors by suffix (<c>exp_avg</c>, ...), as written to checkpoints.</summary>
    IEnumerable<(string Suffix, Tensor Tensor)> Tensors();
}

/// <summary>What an update rule sees for one parameter at one step.</summary>
/// <param name="Param">The fp32 tensor to update in place: the parameter itself, its fp32 master copy, or a temporary
/// fp32 copy that is copied back (rounded) after the update.</param>
/// <param name="Grad">The gradient in fp32; read only (it may be the parameter's own <c>.grad</c>).</param>
/// <param name="Step">Updates of this parameter including this one (1 at the first).</param>
/// <param name="Lr">The group's lr at this step (<see cref="ParameterGroup.LearningRate"/>).</param>
/// <param name="WeightDecay">The group's weight decay.</param>
public readonly record struct ParamStep(Tensor Param, Tensor Grad, long Step, double Lr, double WeightDecay);

/// <summary>One algorithm: how its per-parameter state starts, updates a parameter, and loads from a checkpoint.</summary>
public interface IUpdateRule<TState> where TState : IParamState
{
    /// <summary>The config name (<see cref="IOptimizer.Name"/>).</summary>
    string Name { get; }

    /// <summary>Fresh state for a parameter whose fp32 value is <paramref name="param"/> (shape and device). Tensors
    /// must be detached from the dispose scope: the state outlives the step.</summary>
    TState Init(Tensor param);

    /// <summary>Updates <see cref="ParamStep.Param"/> and the state in place. Runs inside a per-parameter dispose scope
    /// under no_grad: temporaries die with it; new state tensors must be detached from it.</summary>
    void Update(TState state, in ParamStep step);

    /// <summary>State read back from checkpoint tensors (each read checks presence, shape and dtype).</summary>
    TState Load(StateReader reader);
}

/// <summary>Reads one parameter's state tensors from a checkpoint; errors name the file and the tensor.</summary>
public sealed class StateReader
{
    readonly IReadOnlyDictionary<string, Tensor> _tensors;
    readonly string _source;
    readonly HashSet<string> _used;

    internal StateReader(IReadOnlyDictionary<string, Tensor> tensors, string parameter, Tensor param32, string source, HashSet<string> used)
    {
        _tensors = tensors; Parameter = parameter; Param = param32; _source = source; _used = used;
    }

    /// <summary>The parameter's name.</summary>
    public string Parameter { get; }

    /// <summary>The parameter's fp32 value (for shapes and the device).</summary>
    public Tensor Param { get; }

    /// <summary>An fp32 tensor shaped like the parameter.</summary>
    public Tensor Fp32(string suffix) => Read(suffix, Param.shape, ScalarType.Float32);

    /// <summary>A tensor of the given shape; floating tensors are converted to <paramref name="dtype"/>, any other dtype
    /// must match exactly (8-bit codes are not numbers to convert).</summary>
    public Tensor Read(string suffix, long[] shape, ScalarType dtype)
    {
        string key = $"{Parameter}.{suffix}";
        _used.Add(key);
        if (!_tensors.TryGetValue(key, out var t))
            throw new InvalidDataException($"{_source}: optimizer tensor '{key}' is missing");
        if (!t.shape.SequenceEqual(shape))
            throw new InvalidDataException(
                $"{_source}: optimizer tensor '{key}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", shape)}]");
        if (t.dtype != dtype && !(IsFloat(t.dtype) && IsFloat(dtype)))
            throw new InvalidDataException($"{_source}: optimizer tensor '{key}' has dtype {t.dtype}, expected {dtype}");
        return t.detach().to(dtype, Param.device).clone().DetachFromDisposeScope();
    }

    static bool IsFloat(ScalarType t) => t is ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16 or ScalarType.Float16;
}

/// <summary>
/// What every optimizer shares: a slot per parameter (group, step count, state, fp32 master copy for non-fp32
/// parameters), the per-parameter dispose scope that keeps memory flat (TorchSharp's built-in optimizers keep every
/// temporary of the step alive), the lr of a group (LoRA+ multiplier included), and checkpoint state by name. The
/// algorithm is an <see cref="IUpdateRule{TState}"/>.
/// </summary>
public sealed class SlotOptimizer<TState> : IOptimizer where TState : class, IParamState
{
    /// <summary>Suffix of the fp32 master copy in <see cref="StateTensors"/>.</summary>
    public const string MasterKey = "master";

    sealed class Slot(NamedParameter np, ParameterGroup group)
    {
        public string Name => np.Name;
        public Parameter Param => np.Parameter;
        public ParameterGroup Group => group;
        public long Step;
        public TState? State;
        public Tensor? Master;

        public void Release()
        {
            State?.Dispose(); Master?.Dispose();
            State = null; Master = null;
            Step = 0;
        }
    }

    readonly IUpdateRule<TState> _rule;
    readonly bool _masterWeights;
    readonly List<Slot> _slots = [];
    readonly Dictionary<string, Slot> _byName = new(StringComparer.Ordinal);
    bool _disposed;

    /// <param name="masterWeights">For parameters that are not fp32 (bf16): keep an fp32 master copy in the state,
    /// update it, and set the parameter from it after every step. Without it the update is computed in fp32 from the
    /// rounded parameter and rounded again (updates below bf16 resolution are lost). Ignored for fp32 parameters.</param>
    public SlotOptimizer(IUpdateRule<TState> rule, IReadOnlyList<ParameterGroup> groups, bool masterWeights = false)
    {
        _rule = rule;
        _masterWeights = masterWeights;
        Groups = groups;
        foreach (var g in groups)
            foreach (var np in g.Parameters)
            {
                var slot = new Slot(np, g);
                if (!_byName.TryAdd(np.Name, slot))
                    throw new ArgumentException($"{rule.Name}: parameter '{np.Name}' appears in more than one group (second: '{g.Name}')");
                _slots.Add(slot);
            }
    }

    public string Name => _rule.Name;
    public IReadOnlyList<ParameterGroup> Groups { get; }
    public long StepCount { get; private set; }

    public void Step(double lrFactor = 1.0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = torch.no_grad();
        foreach (var slot in _slots) Update(slot, slot.Group.LearningRate(lrFactor));
        StepCount++;
    }

    void Update(Slot s, double lr)
    {
        // One scope per parameter: the grad wrapper, casts and temporaries die here, so memory stays flat.
        using var scope = torch.NewDisposeScope();
        Tensor? grad = s.Param.grad;
        if (grad is null) return;
        if (s.State is null)
        {
            if (NeedsMaster(s)) s.Master = s.Param.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope();
            using var init = torch.NewDisposeScope();
            s.State = _rule.Init(s.Master ?? s.Param);
        }
        s.Step++;

        // The fp32 tensor to update: the parameter itself, its master copy, or a temporary fp32 copy.
        Tensor target = s.Param.dtype == ScalarType.Float32 ? s.Param : s.Master ?? s.Param.to(ScalarType.Float32);
        Tensor g = grad.dtype == ScalarType.Float32 ? grad : grad.to(ScalarType.Float32);
        _rule.Update(s.State, new ParamStep(target, g, s.Step, lr, s.Group.WeightDecay));
        if (!ReferenceEquals(target, s.Param)) s.Param.copy_(target);
    }

    bool NeedsMaster(Slot s) => _masterWeights && s.Param.dtype != ScalarType.Float32;

    public void ZeroGrad()
    {
        foreach (var s in _slots) s.Param.grad = null;
    }

    public IReadOnlyDictionary<string, Tensor> StateTensors()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var s in _slots)
        {
            if (s.State is null) continue;
            foreach (var (suffix, t) in s.State.Tensors()) d[$"{s.Name}.{suffix}"] = t;
            if (s.Master is not null) d[$"{s.Name}.{MasterKey}"] = s.Master;
        }
        return d;
    }

    public OptimizerScalarState ScalarState() =>
        new(1, StepCount, _slots.Where(s => s.State is not null).ToDictionary(s => s.Name, s => s.Step, StringComparer.Ordinal), Name);

    /// <summary>
    /// A missing master copy (state saved without master weights) is rebuilt from the parameter; a master copy that is
    /// not needed is ignored. A state written by another algorithm is refused by name.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, OptimizerScalarState scalars, string source = "optimizer state")
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (scalars.FormatVersion != 1)
            throw new InvalidDataException($"{source}: unsupported optimizer state format version {scalars.FormatVersion}");
        if (scalars.WrittenBy != Name)
            throw new InvalidDataException($"{source}: the state was written by optimizer '{scalars.WrittenBy}', this run uses '{Name}' " +
                                           "(optimizer.name cannot change on resume)");
        foreach (var name in scalars.Steps.Keys)
            if (!_byName.ContainsKey(name))
                throw new InvalidDataException($"{source}: state for parameter '{name}', which this optimizer does not have");
        var used = new HashSet<string>(StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var s in _slots)
        {
            s.Release();
            if (!scalars.Steps.TryGetValue(s.Name, out long step)) continue;
            using var scope = torch.NewDisposeScope();
            s.Step = step;
            string masterKey = $"{s.Name}.{MasterKey}";
            if (NeedsMaster(s))
                s.Master = tensors.ContainsKey(masterKey)
                    ? new StateReader(tensors, s.Name, s.Param.to(ScalarType.Float32), source, used).Fp32(MasterKey)
                    : s.Param.detach().to(ScalarType.Float32).clone().DetachFromDisposeScope();
            s.State = _rule.Load(new StateReader(tensors, s.Name, s.Master ?? s.Param.to(ScalarType.Float32), source, used));
        }
        foreach (var key in tensors.Keys)
            if (!used.Contains(key) && !key.EndsWith("." + MasterKey, StringComparison.Ordinal))
                throw new InvalidDataException($"{source}: unexpected optimizer tensor '{key}'");
        StepCount = scalars.StepCount;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _slots) s.Release();
        (_rule as IDisposable)?.Dispose(); // rules with tensors of their own (8-bit code maps)
    }
}
