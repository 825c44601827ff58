using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Quantization;

/// <summary>
/// A frozen [out, in] weight stored block-wise quantized: the row-major values are cut into blocks of
/// <see cref="QuantSettings.BlockSize"/> (the last one zero-padded), each block is divided by its absmax and coded.
/// NF4: nearest of the 16 NF4 levels, two 4-bit codes per byte (first value in the high nibble, as bitsandbytes packs).
/// Int8: round(x / absmax * 127). Dequantization runs inside forward; it needs no gradient.
/// </summary>
public sealed class QuantizedWeight : nn.Module
{
    readonly Tensor _data;        // NF4: uint8 [padded / 2]; int8: int8 [padded]
    readonly BlockScales _scales; // absmax per block
    readonly Tensor _lut;         // NF4: [256, 2] float32 byte -> (high, low) level; int8: unused [0]

    public QuantizedWeight(long outFeatures, long inFeatures, QuantSettings settings) : base("QuantizedWeight")
    {
        settings.Validate();
        Settings = settings;
        Shape = [outFeatures, inFeatures];
        Numel = outFeatures * inFeatures;
        Blocks = (Numel + settings.BlockSize - 1) / settings.BlockSize;
        long padded = Blocks * settings.BlockSize;
        _data = settings.Bits == 4 ? zeros(padded / 2, dtype: ScalarType.Byte) : zeros(padded, dtype: ScalarType.Int8);
        _scales = new BlockScales(Blocks, settings.DoubleQuant);
        _lut = settings.Bits == 4 ? Nf4PairTable() : zeros(0);
        register_buffer("data", _data);
        register_module("scales", _scales);
        register_buffer("lut", _lut, persistent: false);
    }

    public QuantSettings Settings { get; }
    public long[] Shape { get; }
    public long Numel { get; }
    public long Blocks { get; }

    /// <summary>Bytes of quantized storage (codes and scales).</summary>
    public long StorageBytes => _data.NumberOfElements + _scales.StorageBytes;

    /// <summary>Bytes the same weight takes in bf16.</summary>
    public long Bf16Bytes => 2 * Numel;

    /// <summary>The decoded block scales [Blocks] (what dequantization multiplies by).</summary>
    public Tensor Absmax() => _scales.Get();

    /// <summary>Quantizes <paramref name="weight"/> [out, in] (any float dtype) into this storage.</summary>
    public void Quantize(Tensor weight)
    {
        if (!weight.shape.SequenceEqual(Shape))
            throw new ArgumentException($"weight shape [{string.Join(", ", weight.shape)}] != [{string.Join(", ", Shape)}]");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int block = Settings.BlockSize;
        var flat = weight.to(ScalarType.Float32, _data.device).reshape(-1);
        var blocks = nn.functional.pad(flat, [0, Blocks * block - Numel]).view(Blocks, block); // [nb, block]
        var absmax = blocks.abs().amax([1]);                                                   // [nb]
        var normed = blocks / where(absmax == 0, ones_like(absmax), absmax).unsqueeze(1);      // [-1, 1]
        if (Settings.Bits == 4)
        {
            // Nearest NF4 level = number of level midpoints strictly below the value (bitsandbytes' decision tree).
            var idx = searchsorted(Codebooks.Midpoints(Codebooks.Nf4).to(flat.device), normed.contiguous()).view(-1, 2);
            var packed = idx.select(1, 0) * 16 + idx.select(1, 1); // [padded / 2]
            _data.copy_(packed.to(ScalarType.Byte));
        }
        else
        {
            _data.copy_((normed * 127).round_().clamp_(-127, 127).view(-1).to(ScalarType.Int8));
        }
        _scales.Set(absmax);
    }

    /// <summary>The decoded weight [out, in] in <paramref name="dtype"/> (no grad).</summary>
    public Tensor Dequantize(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int block = Settings.BlockSize;
        var absmax = _scales.Get().unsqueeze(1); // [nb, 1]
        Tensor values = Settings.Bits == 4
            ? _lut.index_select(0, _data.to(ScalarType.Int64)).view(Blocks, block)  // [nb, block] levels in [-1, 1]
            : _data.to(ScalarType.Float32).view(Blocks, block) / 127.0;
        var w = (values * absmax).view(-1).narrow(0, 0, Numel).view(Shape);
        return w.to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>[256, 2]: the two NF4 levels a packed byte holds (high nibble first).</summary>
    static Tensor Nf4PairTable()
    {
        var table = new float[512];
        for (int b = 0; b < 256; b++)
        {
            table[2 * b] = Codebooks.Nf4[b >> 4];
            table[2 * b + 1] = Codebooks.Nf4[b & 15];
        }
        return tensor(table).view(256, 2);
    }
}
