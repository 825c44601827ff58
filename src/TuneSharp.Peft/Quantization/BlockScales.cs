using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Quantization;

/// <summary>
/// The per-block absmax scales of a quantized weight [nBlocks], kept either as float32 or, with double quantization, as
/// bitsandbytes does: subtract their mean, then code each group of 256 with the 8-bit dynamic map and a float32 absmax of
/// its own. That costs 8.125 bits per scale instead of 32 (~0.37 bits per weight saved at block 64).
/// </summary>
public sealed class BlockScales : nn.Module
{
    /// <summary>Scales per second-level block (bitsandbytes' blocksize for the nested quantization).</summary>
    public const int DoubleQuantBlock = 256;

    readonly Tensor? _absmax;   // [nBlocks] float32 (plain)
    readonly Tensor? _codes;    // [nBlocks2 * 256] uint8 indices into the dynamic map (double quant)
    readonly Tensor? _absmax2;  // [nBlocks2] float32
    readonly Tensor? _offset;   // [1] float32: mean of the scales

    public BlockScales(long count, bool doubleQuant) : base("BlockScales")
    {
        Count = count;
        DoubleQuant = doubleQuant;
        if (doubleQuant)
        {
            long n2 = (count + DoubleQuantBlock - 1) / DoubleQuantBlock;
            _codes = zeros(n2 * DoubleQuantBlock, dtype: ScalarType.Byte);
            _absmax2 = zeros(n2, dtype: ScalarType.Float32);
            _offset = zeros(1, dtype: ScalarType.Float32);
            register_buffer("codes", _codes);
            register_buffer("absmax2", _absmax2);
            register_buffer("offset", _offset);
        }
        else
        {
            _absmax = zeros(count, dtype: ScalarType.Float32);
            register_buffer("absmax", _absmax);
        }
    }

    public long Count { get; }
    public bool DoubleQuant { get; }

    /// <summary>Bytes of storage.</summary>
    public long StorageBytes => DoubleQuant ? _codes!.NumberOfElements + 4 * _absmax2!.NumberOfElements + 4 : 4 * Count;

    /// <summary>Stores <paramref name="absmax"/> [Count] (float32).</summary>
    public void Set(Tensor absmax)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (!DoubleQuant)
        {
            _absmax!.copy_(absmax);
            return;
        }
        var offset = absmax.mean();
        var centered = absmax - offset;                                            // [n]
        long pad = _codes!.NumberOfElements - Count;
        var blocks = nn.functional.pad(centered, [0, pad]).view(-1, DoubleQuantBlock); // [n2, 256]
        var a2 = blocks.abs().amax([1]);                                          // [n2]
        var normed = blocks / where(a2 == 0, ones_like(a2), a2).unsqueeze(1);      // in [-1, 1]
        var mids = Codebooks.Midpoints(Codebooks.Dynamic8).to(absmax.device);
        var idx = searchsorted(mids, normed.contiguous());                         // nearest code index
        _codes.copy_(idx.view(-1).to(ScalarType.Byte));
        _absmax2!.copy_(a2);
        _offset!.copy_(offset.view(1));
    }

    /// <summary>The scales [Count] float32 (decoded when double-quantized).</summary>
    public Tensor Get()
    {
        if (!DoubleQuant) return _absmax!.alias();
        using var scope = NewDisposeScope();
        var map = tensor(Codebooks.Dynamic8.ToArray(), device: _codes!.device);
        var decoded = map.index_select(0, _codes.to(ScalarType.Int64)).view(-1, DoubleQuantBlock) * _absmax2!.unsqueeze(1) + _offset!;
        return decoded.view(-1).narrow(0, 0, Count).MoveToOuterDisposeScope();
    }
}
