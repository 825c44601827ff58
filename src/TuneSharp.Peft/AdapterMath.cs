using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>The LoRA / DoRA formulas shared by every adapter layer (PEFT's tuners/lora layer.py and dora.py).</summary>
internal static class AdapterMath
{
    /// <summary>alpha / r, or alpha / sqrt(r) for rank-stabilized LoRA (Kalajdzievski 2023).</summary>
    public static double Scaling(double alpha, int r, bool rslora) => rslora ? alpha / Math.Sqrt(r) : alpha / r;

    /// <summary>A: kaiming-uniform with a = sqrt 5 (bound 1 / sqrt(in), nn.Linear's default) or N(0, std = 1/r).</summary>
    public static void InitA(Parameter a, string init, int r, Generator? g)
    {
        using var noGrad = no_grad();
        if (init == "gaussian")
        {
            a.normal_(0.0, 1.0 / r, g);
            return;
        }
        // kaiming_uniform_(a = sqrt 5): gain = sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
        double bound = 1.0 / Math.Sqrt(a.shape[1]);
        a.uniform_(-bound, bound, g);
    }

    /// <summary>B A [out, in] float32.</summary>
    public static Tensor Delta(IAdapterLayer l) => l.LoraB.mm(l.LoraA);

    /// <summary>Row-wise L2 norm [out] of W + scaling * BA, float32 (PEFT's get_weight_norm).</summary>
    public static Tensor WeightNorm(Tensor w32, Tensor delta, double scaling) =>
        linalg.norm(w32 + scaling * delta, dims: [1L]);

    /// <summary>Adds the adapter to <paramref name="baseResult"/> (= base(x) with bias): LoRA through
    /// <see cref="LoraMath.Add"/>, DoRA in float32 (see <see cref="DoraTerm"/>).</summary>
    public static Tensor Forward(IAdapterLayer l, Tensor x, Tensor baseResult, bool training)
    {
        if (!l.Enabled) return baseResult;
        bool drop = training && l.Dropout > 0;
        if (l.Magnitude is null) return LoraMath.Add(x, baseResult, l.LoraA, l.LoraB, l.Scaling, drop ? l.Dropout : 0);
        using var scope = NewDisposeScope();
        var result = baseResult + DoraTerm(l, x.to(ScalarType.Float32), baseResult, drop);
        return result.to(baseResult.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DoRA (Liu et al. 2024): with s = m / ||W + scaling B A||_row (the norm detached, paper section 4.3),
    /// the layer is s * (W x + scaling B A x) + b. Returned as the correction to add to base(x):
    /// (s - 1) * W x + s * scaling * B A x; the bias is not rescaled. With active dropout, W x and the adapter both see
    /// dropout(x) (PEFT recomputes W x then), otherwise W x = base(x) - b.
    /// </summary>
    static Tensor DoraTerm(IAdapterLayer l, Tensor x32, Tensor baseResult, bool drop)
    {
        var w32 = l.BaseWeight(ScalarType.Float32);                              // [out, in]
        Tensor norm;
        using (no_grad()) norm = WeightNorm(w32, Delta(l), l.Scaling);            // [out], detached
        var scale = l.Magnitude! / norm;                                          // [out]
        Tensor h, wx;
        if (drop)
        {
            h = nn.functional.dropout(x32, l.Dropout, true);
            wx = nn.functional.linear(h, w32);
        }
        else
        {
            h = x32;
            wx = l.BaseBias is { } b ? baseResult - b : baseResult;
        }
        var lora = nn.functional.linear(nn.functional.linear(h, l.LoraA), l.LoraB);
        return (scale - 1) * wx + scale * lora * l.Scaling;
    }

    /// <summary>W + scaling B A (LoRA) or m * (W + scaling B A) / ||W + scaling B A||_row (DoRA), in <paramref name="dtype"/>.</summary>
    public static Tensor Merged(IAdapterLayer l, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w32 = l.BaseWeight(ScalarType.Float32);
        var merged = w32 + l.Scaling * Delta(l);
        if (l.Magnitude is { } m) merged = (m / linalg.norm(merged, dims: [1L])).unsqueeze(1) * merged;
        return merged.to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>PEFT's init of A and B (and m for DoRA, from the current base weight).</summary>
    public static void Reset(IAdapterLayer l, string init, Generator? g)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        InitA(l.LoraA, init, l.Rank, g);
        l.LoraB.zero_();
        if (l.Magnitude is { } m) m.copy_(WeightNorm(l.BaseWeight(ScalarType.Float32), Delta(l), l.Scaling));
    }
}

/// <summary>The LoRA update shared by every layer that carries adapters (training layers, the server's switchable ones).</summary>
public static class LoraMath
{
    /// <summary>
    /// baseResult + scaling * B(A(dropout(x))), in the base result's dtype. The factors A [r, in] and B [out, r] are
    /// float32. With a float32 base the adapter runs in float32. With a bf16 base the two small factors are cast to bf16
    /// and the adapter runs on x as it is, the way PEFT's adapter runs under bf16 autocast in the HF Trainer: no float32
    /// copy of x or of the projection output is made or kept for backward, and the factors' gradients arrive in float32
    /// through the cast. <paramref name="dropout"/> &gt; 0 applies dropout (training) to the adapter input only.
    /// </summary>
    public static Tensor Add(Tensor x, Tensor baseResult, Tensor a, Tensor b, double scaling, double dropout = 0)
    {
        using var scope = NewDisposeScope();
        var dtype = x.dtype == baseResult.dtype ? x.dtype : ScalarType.Float32;
        var h = x.to(dtype);
        if (dropout > 0) h = nn.functional.dropout(h, dropout, true);
        var lora = nn.functional.linear(nn.functional.linear(h, a.to(dtype)), b.to(dtype)); // [.., out]
        return baseResult.add(lora, alpha: scaling).to(baseResult.dtype).MoveToOuterDisposeScope();
    }
}
