using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using TuneSharp.Peft;
using static TorchSharp.torch;

namespace TuneSharp.Serve;

/// <summary>
/// A frozen projection y = x W^T + b with several LoRA adapters kept beside it, at most one active:
/// y + B(A x) * scaling, computed by <see cref="LoraMath.Add"/> as in <see cref="LoraLinear"/>.
/// Only <c>weight</c> and <c>bias</c> are parameters (loaded from the base checkpoint); the adapter factors A [r, in]
/// and B [out, r] are owned by this module and freed with it. The base weight exists once whatever the adapter count.
/// </summary>
public sealed class SwitchableLoraLinear : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] readonly Parameter _weight;
    [ComponentName(Name = "bias")] readonly Parameter? _bias;
    readonly Dictionary<string, Factors> _adapters = new(StringComparer.Ordinal);
    Factors? _active;

    sealed record Factors(Tensor A, Tensor B, double Scaling);

    public SwitchableLoraLinear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype) : base("SwitchableLoraLinear")
    {
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
        _weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype), requires_grad: false); // [out, in] as in HF
        if (hasBias) _bias = new Parameter(zeros(outFeatures, dtype: dtype), requires_grad: false);
        RegisterComponents();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }

    /// <summary>Names of the adapters this projection has factors for.</summary>
    public IReadOnlyCollection<string> AdapterNames => _adapters.Keys;

    /// <summary>The active adapter's name, or null when the projection computes the base alone.</summary>
    public string? Active { get; private set; }

    /// <summary>Takes ownership of the float32 factors <paramref name="a"/> [r, in] and <paramref name="b"/> [out, r].</summary>
    public void Add(string name, Tensor a, Tensor b, double scaling)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != InFeatures || b.shape[0] != OutFeatures || a.shape[0] != b.shape[1])
            throw new ArgumentException($"adapter '{name}': lora_A [{string.Join(", ", a.shape)}] and lora_B [{string.Join(", ", b.shape)}] " +
                $"do not fit a projection [{OutFeatures}, {InFeatures}]");
        if (a.dtype != ScalarType.Float32 || b.dtype != ScalarType.Float32)
            throw new ArgumentException($"adapter '{name}': lora_A and lora_B must be float32");
        if (_adapters.ContainsKey(name)) throw new ArgumentException($"adapter '{name}' is already loaded", nameof(name));
        _adapters[name] = new Factors(a.DetachFromDisposeScope(), b.DetachFromDisposeScope(), scaling);
    }

    /// <summary>Makes <paramref name="name"/> active (null, or an adapter that does not touch this projection: the base alone).</summary>
    public void Activate(string? name)
    {
        Active = name;
        _active = name != null && _adapters.TryGetValue(name, out var f) ? f : null;
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.linear(x, _weight, _bias);
        return (_active is { } f ? LoraMath.Add(x, y, f.A, f.B, f.Scaling) : y).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var f in _adapters.Values)
            {
                f.A.Dispose();
                f.B.Dispose();
            }
            _adapters.Clear();
            _active = null;
        }
        base.Dispose(disposing);
    }
}
