using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>A projection whose weight can be written out as one dense [out, in] matrix (merged or dequantized).</summary>
public interface IDenseEquivalent
{
    /// <summary>The effective weight [out, in] in <paramref name="dtype"/>, detached.</summary>
    Tensor DenseWeight(ScalarType dtype);

    /// <summary>The base bias [out] or null.</summary>
    Tensor? BaseBias { get; }
}

/// <summary>
/// A projection with a LoRA adapter: y = base(x) + B(A(dropout(x))) * scaling (DoRA rescales per output row).
/// Shapes: A [r, in], B [out, r], magnitude [out]; all float32 whatever the base dtype.
/// </summary>
public interface IAdapterLayer : IDenseEquivalent
{
    long InFeatures { get; }
    long OutFeatures { get; }
    /// <summary>Rank, alpha, dropout and scaling flavour the policy chose for this projection.</summary>
    AdapterSpec Spec { get; }
    int Rank => Spec.R;
    double Alpha => Spec.Alpha;
    double Scaling => Spec.Scaling;
    double Dropout => Spec.Dropout;
    /// <summary>When false, forward is the base projection alone (DPO reference model).</summary>
    bool Enabled { get; set; }
    Parameter LoraA { get; }
    Parameter LoraB { get; }
    /// <summary>DoRA's magnitude vector m [out]; null for plain LoRA.</summary>
    Parameter? Magnitude { get; }

    /// <summary>The frozen base weight [out, in] (dequantized if stored quantized), detached.</summary>
    Tensor BaseWeight(ScalarType dtype);

    /// <summary>
    /// PEFT's initialization: A kaiming-uniform (a = sqrt 5) or N(0, 1/r) for "gaussian", B = 0, and for DoRA
    /// m = ||W + scaling * B A|| per output row (= ||W|| since B = 0). Call after the base weight is loaded.
    /// </summary>
    void ResetAdapter(string init, Generator? generator);
}

/// <summary>One adapter factor (lora_A or lora_B): a module holding a float32 "weight", so parameters are named PEFT's way.</summary>
public sealed class AdapterFactor : nn.Module
{
    readonly Parameter weight;

    public AdapterFactor(long rows, long cols) : base("AdapterFactor")
    {
        weight = new Parameter(zeros(rows, cols, dtype: ScalarType.Float32));
        RegisterComponents();
    }

    public Parameter Weight => weight;
}
