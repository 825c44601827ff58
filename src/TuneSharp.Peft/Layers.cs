using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using TuneSharp.Models.Common;
using TuneSharp.Peft.Quantization;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>What the policy decided for one projection: rank, alpha, dropout and scaling flavour.</summary>
public sealed record AdapterSpec(int R, double Alpha, double Dropout, bool UseRslora)
{
    public double Scaling => AdapterMath.Scaling(Alpha, R, UseRslora);
}

/// <summary>
/// LoRA on a dense frozen base (Hu et al. 2021): y = x W^T + b + B(A(dropout(x))) * scaling. Parameters are named as in
/// PEFT's state dict without the adapter name: <c>weight</c>, <c>bias</c> (frozen), <c>lora_A.weight</c> [r, in],
/// <c>lora_B.weight</c> [out, r] (float32, trainable). With <c>dora</c> (Liu et al. 2024) it also has a trainable
/// magnitude m [out] (<c>lora_magnitude_vector</c>, PEFT's on-disk key):
/// y = m / ||W + s B A||_row * (W x + s B A x) + b with the norm treated as a constant. One class, as in PEFT.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>, IAdapterLayer
{
    [ComponentName(Name = "weight")] readonly Parameter _weight;
    [ComponentName(Name = "bias")] readonly Parameter? _bias;
    [ComponentName(Name = "lora_A")] readonly AdapterFactor _loraA;
    [ComponentName(Name = "lora_B")] readonly AdapterFactor _loraB;
    [ComponentName(Name = "lora_magnitude_vector")] readonly Parameter? _magnitude;
    readonly AdapterSpec _spec;

    public LoraLinear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, AdapterSpec spec, bool dora = false)
        : base(dora ? "DoraLinear" : "LoraLinear")
    {
        (InFeatures, OutFeatures, _spec) = (inFeatures, outFeatures, spec);
        _weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype), requires_grad: false);
        if (hasBias) _bias = new Parameter(zeros(outFeatures, dtype: dtype), requires_grad: false);
        _loraA = new AdapterFactor(spec.R, inFeatures);
        _loraB = new AdapterFactor(outFeatures, spec.R);
        if (dora) _magnitude = new Parameter(ones(outFeatures, dtype: ScalarType.Float32));
        RegisterComponents();
        AdapterMath.InitA(_loraA.Weight, "default", spec.R, null);
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public AdapterSpec Spec => _spec;
    public bool Enabled { get; set; } = true;
    public Parameter Weight => _weight;
    public Parameter LoraA => _loraA.Weight;
    public Parameter LoraB => _loraB.Weight;
    public Parameter? Magnitude => _magnitude;
    public Tensor? BaseBias => _bias;

    public Tensor BaseWeight(ScalarType dtype) => _weight.detach().to(dtype);
    public Tensor DenseWeight(ScalarType dtype) => AdapterMath.Merged(this, dtype);
    public void ResetAdapter(string init, Generator? generator) => AdapterMath.Reset(this, init, generator);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.linear(x, _weight, _bias);
        return AdapterMath.Forward(this, x, y, training).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A frozen projection whose weight is stored quantized (NF4 or int8), filled from the checkpoint's
/// <c>weight</c> at load (<see cref="ICheckpointLoadable"/>) and dequantized inside forward. Input gradients flow.
/// </summary>
public sealed class QuantizedLinear : nn.Module<Tensor, Tensor>, IDenseEquivalent, ICheckpointLoadable
{
    [ComponentName(Name = "base_quant")] readonly QuantizedWeight _quant;
    [ComponentName(Name = "bias")] readonly Parameter? _bias;
    readonly ScalarType _dtype;

    public QuantizedLinear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, QuantSettings quant) : base("QuantizedLinear")
    {
        _dtype = dtype;
        _quant = new QuantizedWeight(outFeatures, inFeatures, quant);
        if (hasBias) _bias = new Parameter(zeros(outFeatures, dtype: dtype), requires_grad: false);
        RegisterComponents();
    }

    public QuantizedWeight Quantized => _quant;
    public Tensor? BaseBias => _bias;
    public IEnumerable<string> CheckpointKeys => ["weight"];
    public long[] CheckpointShape(string localKey) => _quant.Shape;
    public void LoadFromCheckpoint(string localKey, Tensor value) => _quant.Quantize(value);
    public Tensor DenseWeight(ScalarType dtype) => _quant.Dequantize(dtype);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return DequantLinear.Apply(x, _quant, _dtype, _bias).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// QLoRA (Dettmers et al. 2023): a quantized frozen base (<see cref="QuantizedLinear"/>'s storage) plus a float32 LoRA
/// adapter, optionally DoRA (<c>lora_magnitude_vector</c>, m computed from the dequantized weight).
/// </summary>
public sealed class QLoraLinear : nn.Module<Tensor, Tensor>, IAdapterLayer, ICheckpointLoadable
{
    [ComponentName(Name = "base_quant")] readonly QuantizedWeight _quant;
    [ComponentName(Name = "bias")] readonly Parameter? _bias;
    [ComponentName(Name = "lora_A")] readonly AdapterFactor _loraA;
    [ComponentName(Name = "lora_B")] readonly AdapterFactor _loraB;
    [ComponentName(Name = "lora_magnitude_vector")] readonly Parameter? _magnitude;
    readonly AdapterSpec _spec;
    readonly ScalarType _dtype;

    public QLoraLinear(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, AdapterSpec spec, QuantSettings quant, bool useDora)
        : base("QLoraLinear")
    {
        (InFeatures, OutFeatures, _spec, _dtype) = (inFeatures, outFeatures, spec, dtype);
        _quant = new QuantizedWeight(outFeatures, inFeatures, quant);
        if (hasBias) _bias = new Parameter(zeros(outFeatures, dtype: dtype), requires_grad: false);
        _loraA = new AdapterFactor(spec.R, inFeatures);
        _loraB = new AdapterFactor(outFeatures, spec.R);
        if (useDora) _magnitude = new Parameter(ones(outFeatures, dtype: ScalarType.Float32));
        RegisterComponents();
        AdapterMath.InitA(_loraA.Weight, "default", spec.R, null);
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public AdapterSpec Spec => _spec;
    public bool Enabled { get; set; } = true;
    public QuantizedWeight Quantized => _quant;
    public Parameter LoraA => _loraA.Weight;
    public Parameter LoraB => _loraB.Weight;
    public Parameter? Magnitude => _magnitude;
    public Tensor? BaseBias => _bias;
    public IEnumerable<string> CheckpointKeys => ["weight"];

    public long[] CheckpointShape(string localKey) => _quant.Shape;
    public void LoadFromCheckpoint(string localKey, Tensor value) => _quant.Quantize(value);
    public Tensor BaseWeight(ScalarType dtype) => _quant.Dequantize(dtype);
    public Tensor DenseWeight(ScalarType dtype) => AdapterMath.Merged(this, dtype);
    public void ResetAdapter(string init, Generator? generator) => AdapterMath.Reset(this, init, generator);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = DequantLinear.Apply(x, _quant, _dtype, _bias); // dequantized base, no grad to the codes
        return AdapterMath.Forward(this, x, y, training).MoveToOuterDisposeScope();
    }
}
