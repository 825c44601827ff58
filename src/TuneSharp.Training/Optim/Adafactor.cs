using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>
/// Adafactor's constants, those of HF transformers' <c>Adafactor(lr=..., relative_step=False, scale_parameter=False,
/// warmup_init=False, beta1=None)</c> (what the HF Trainer builds for <c>optim="adafactor"</c>): lr and weight decay
/// come from the group.
/// </summary>
public sealed record AdafactorOptions
{
    /// <summary>eps[0]: added to g² (regularises the second moment).</summary>
    public double Eps1 { get; init; } = 1e-30;
    /// <summary>Update clipping: the update's RMS is capped at this value.</summary>
    public double ClipThreshold { get; init; } = 1.0;
    /// <summary>Second-moment decay: β2(t) = 1 - t^decay_rate.</summary>
    public double DecayRate { get; init; } = -0.8;
}

/// <summary>
/// Adafactor's second-moment statistics of one parameter: for a parameter of 2 or more dimensions [..., R, C] the
/// factored row and column means (<c>exp_avg_sq_row</c> [..., R], <c>exp_avg_sq_col</c> [..., C]); for 0-1 dimensions
/// the full <c>exp_avg_sq</c>. fp32.
/// </summary>
public sealed class AdafactorState : IParamState
{
    public const string RowKey = "exp_avg_sq_row", ColKey = "exp_avg_sq_col", FullKey = "exp_avg_sq";

    public Tensor? Row { get; private init; }
    public Tensor? Col { get; private init; }
    public Tensor? Full { get; private init; }

    public static bool Factored(Tensor param) => param.dim() >= 2;

    /// <summary>Shapes HF uses: row = shape[:-1], col = shape[:-2] + shape[-1:].</summary>
    static (long[] Row, long[] Col) FactorShapes(Tensor p) => (p.shape[..^1], [.. p.shape[..^2], p.shape[^1]]);

    public static AdafactorState Zeros(Tensor p)
    {
        if (!Factored(p)) return new() { Full = torch.zeros(p.shape, ScalarType.Float32, p.device).DetachFromDisposeScope() };
        var (row, col) = FactorShapes(p);
        return new()
        {
            Row = torch.zeros(row, ScalarType.Float32, p.device).DetachFromDisposeScope(),
            Col = torch.zeros(col, ScalarType.Float32, p.device).DetachFromDisposeScope(),
        };
    }

    public static AdafactorState Load(StateReader r)
    {
        if (!Factored(r.Param)) return new() { Full = r.Fp32(FullKey) };
        var (row, col) = FactorShapes(r.Param);
        return new() { Row = r.Read(RowKey, row, ScalarType.Float32), Col = r.Read(ColKey, col, ScalarType.Float32) };
    }

    public IEnumerable<(string Suffix, Tensor Tensor)> Tensors() =>
        Full is not null ? [(FullKey, Full)] : [(RowKey, Row!), (ColKey, Col!)];

    public void Dispose()
    {
        Row?.Dispose(); Col?.Dispose(); Full?.Dispose();
    }
}

/// <summary>
/// Adafactor (Shazeer and Stern 2018, arXiv:1804.04235) as HF transformers' <c>Adafactor.step</c> with
/// <c>relative_step=False, scale_parameter=False, beta1=None</c>: no first moment, a factored second moment for
/// parameters of 2+ dimensions (memory rows + columns instead of rows x columns), update clipping, and the lr of the
/// group (so the schedule applies). Per parameter with step t, g the gradient:
/// <code>
/// β2 = 1 - t^-0.8;  u = g² + 1e-30
/// factored:  R = β2 R + (1 - β2) mean_col(u);  C = β2 C + (1 - β2) mean_row(u)
///            v̂ = (R / mean(R))[..., :, None] · C[..., None, :]                  (Alg. 4: R Cᵀ / 1ᵀR)
///            u = g / sqrt(v̂)
/// else:      V = β2 V + (1 - β2) u;  u = g / sqrt(V)
/// u = u / max(1, RMS(u) / 1.0);  u = lr · u
/// p = p - wd·lr·p - u                                                       (decay decoupled, as HF)
/// </code>
/// </summary>
public sealed class Adafactor(AdafactorOptions options) : IUpdateRule<AdafactorState>
{
    public const string Name = "adafactor";

    string IUpdateRule<AdafactorState>.Name => Name;

    public static SlotOptimizer<AdafactorState> Create(IReadOnlyList<ParameterGroup> groups, AdafactorOptions? options = null,
        bool masterWeights = false) =>
        new(new Adafactor(options ?? new AdafactorOptions()), groups, masterWeights);

    public AdafactorState Init(Tensor param) => AdafactorState.Zeros(param);

    public AdafactorState Load(StateReader reader) => AdafactorState.Load(reader);

    public void Update(AdafactorState s, in ParamStep p)
    {
        double beta2t = 1.0 - Math.Pow(p.Step, options.DecayRate);
        Tensor update = p.Grad.pow(2).add_(options.Eps1);
        if (s.Full is null)
        {
            s.Row!.mul_(beta2t).add_(update.mean([-1]), alpha: 1.0 - beta2t);   // [..., R]
            s.Col!.mul_(beta2t).add_(update.mean([-2]), alpha: 1.0 - beta2t);   // [..., C]
            update = ApproxRsqrtSecondMoment(s.Row, s.Col).mul_(p.Grad);
        }
        else
        {
            s.Full.mul_(beta2t).add_(update, alpha: 1.0 - beta2t);
            update = s.Full.rsqrt().mul_(p.Grad);
        }
        update.div_((Rms(update) / options.ClipThreshold).clamp_(min: 1.0));
        update.mul_(p.Lr);
        if (p.WeightDecay != 0) p.Param.add_(p.Param, alpha: -p.WeightDecay * p.Lr);
        p.Param.add_(-update);
    }

    /// <summary>HF's <c>_approx_sq_grad</c>: 1 / sqrt(v̂) with v̂ the rank-1 estimate from row and column means.</summary>
    static Tensor ApproxRsqrtSecondMoment(Tensor row, Tensor col)
    {
        var r = row.div(row.mean([-1], keepdim: true)).rsqrt_().unsqueeze(-1);   // [..., R, 1]
        var c = col.unsqueeze(-2).rsqrt();                                       // [..., 1, C]
        return torch.mul(r, c);                                                  // [..., R, C]
    }

    /// <summary>Root mean square: ||x||₂ / sqrt(numel), as HF's <c>_rms</c>.</summary>
    static Tensor Rms(Tensor x) => x.norm().div(Math.Sqrt(x.numel()));
}
