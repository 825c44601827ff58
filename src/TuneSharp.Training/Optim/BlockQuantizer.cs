using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>
/// Block-wise 8-bit quantization as bitsandbytes' <c>quantize_blockwise</c> (Dettmers et al. 2022, "8-bit Optimizers
/// via Block-wise Quantization", arXiv:2110.02861): a tensor is flattened and cut into blocks of <see cref="BlockSize"/>
/// values; each block stores its absmax (fp32) and every value as the index (uint8) of the code nearest to
/// value / absmax in a 256-entry map. The map is bitsandbytes' dynamic tree map (<c>create_dynamic_map</c>): signed for
/// values of either sign, unsigned for non-negative ones (Adam's second moment), dense near 0 and spanning 7 orders of
/// magnitude, which keeps small moments from rounding to 0 as a linear map would.
/// </summary>
public sealed class BlockQuantizer : IDisposable
{
    /// <summary>Block sizes bitsandbytes uses for optimizer states (256 since 0.42, 2048 before).</summary>
    public static readonly IReadOnlyList<int> SupportedBlockSizes = [256, 2048];

    // CPU copies, moved to the state's device per call (256 values).
    readonly Tensor _code;        // [256] sorted map values in [-1, 1] or [0, 1]
    readonly Tensor _boundaries;  // [255] midpoints between neighbouring codes: bucketize gives the nearest code

    public BlockQuantizer(bool signed, int blockSize = 256)
    {
        Signed = signed;
        if (!SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentOutOfRangeException(nameof(blockSize), $"8-bit block size must be one of {string.Join(", ", SupportedBlockSizes)}, got {blockSize}");
        BlockSize = blockSize;
        var map = DynamicMap(signed);
        _code = torch.tensor(map, ScalarType.Float32).DetachFromDisposeScope();
        var mids = new float[map.Length - 1];
        for (int i = 0; i < mids.Length; i++) mids[i] = (map[i] + map[i + 1]) / 2;
        _boundaries = torch.tensor(mids, ScalarType.Float32).DetachFromDisposeScope();
    }

    public int BlockSize { get; }

    /// <summary>Signed map ([-1, 1]) or unsigned ([0, 1]).</summary>
    public bool Signed { get; }

    /// <summary>The index of 0.0 in the map (a state that starts at exactly 0).</summary>
    public byte ZeroCode => (byte)Array.IndexOf(DynamicMap(Signed), 0f);

    /// <summary>Blocks for <paramref name="numel"/> values (the last one may be partial).</summary>
    public long Blocks(long numel) => (numel + BlockSize - 1) / BlockSize;

    /// <summary>bitsandbytes' <c>create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)</c>: for exponent
    /// i = 0..6 the midpoints of an even split of [0.1, 1] into 2^i (signed, mirrored for negatives) or 2^(i+1)
    /// (unsigned) parts, scaled by 10^(i-6); then 0 and 1. 256 sorted values.</summary>
    public static float[] DynamicMap(bool signed)
    {
        const int maxExponentBits = 7;
        var data = new List<double>();
        for (int i = 0; i < maxExponentBits; i++)
        {
            int items = signed ? (1 << i) + 1 : (1 << (i + 1)) + 1;
            double scale = Math.Pow(10, -(maxExponentBits - 1) + i);
            for (int k = 0; k < items - 1; k++)
            {
                // torch.linspace(0.1, 1, items) and the means of neighbours
                double lo = 0.1 + 0.9 * k / (items - 1), hi = 0.1 + 0.9 * (k + 1) / (items - 1);
                double mean = (lo + hi) / 2;
                data.Add(scale * mean);
                if (signed) data.Add(-scale * mean);
            }
        }
        data.Add(0);
        data.Add(1);
        if (data.Count != 256) throw new InvalidOperationException($"dynamic map has {data.Count} values, not 256");
        return data.Order().Select(v => (float)v).ToArray();
    }

    /// <summary>Quantizes <paramref name="x"/> (fp32, any shape) into <paramref name="codes"/> (uint8 [numel]) and
    /// <paramref name="absmax"/> (fp32 [blocks]), in place.</summary>
    public void Quantize(Tensor x, Tensor codes, Tensor absmax)
    {
        using var scope = torch.NewDisposeScope();
        var blocks = Padded(x);                                           // [blocks, BlockSize]
        var max = blocks.abs().amax([1]);                                 // [blocks]
        absmax.copy_(max);
        // An all-zero block has absmax 0: divide by a tiny number instead (its values are 0 and stay 0).
        var normed = blocks / max.clamp_min(float.Epsilon).unsqueeze(1);
        var index = torch.bucketize(normed, _boundaries.to(x.device), outInt32: true).to(ScalarType.Byte); // nearest code
        codes.copy_(index.flatten().narrow(0, 0, x.numel()));
    }

    /// <summary>fp32 values of <paramref name="codes"/> / <paramref name="absmax"/>, shaped like <paramref name="shape"/>.</summary>
    public Tensor Dequantize(Tensor codes, Tensor absmax, long[] shape)
    {
        long n = codes.numel();
        var values = _code.to(codes.device).index_select(0, codes.to(ScalarType.Int32));  // [numel]
        var scale = absmax.repeat_interleave(BlockSize).narrow(0, 0, n);  // [numel]
        return values.mul_(scale).reshape(shape);
    }

    Tensor Padded(Tensor x)
    {
        long n = x.numel(), padded = Blocks(n) * BlockSize;
        var flat = x.flatten();
        if (padded != n) flat = nn.functional.pad(flat, [0, padded - n]);
        return flat.reshape(-1, BlockSize);
    }

    public void Dispose()
    {
        _code.Dispose();
        _boundaries.Dispose();
    }
}
