using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// Rotary position embedding (Su et al. 2021) in HF's rotate-half layout: the first and second halves of each head
/// vector form the (x1, x2) pairs. Holds inv_freq [D/2] (fp32); cos/sin are computed per forward from position ids,
/// as HF does, so arbitrary (packed, left-padded, offset) positions cost nothing extra.
/// </summary>
public sealed class Rope : IDisposable
{
    readonly RopeArgs _args;
    readonly int _headDim;
    readonly Tensor _invFreq; // [D/2]

    public Rope(RopeArgs args, int headDim, Device device)
    {
        _args = args;
        _headDim = headDim;
        // The scope disposes the computed table when .to() returns a new tensor (a leak of one tensor per model before).
        using var scope = NewDisposeScope();
        _invFreq = InverseFrequencies(args, headDim, seqLen: 0).to(device).DetachFromDisposeScope();
    }

    /// <summary>inv_freq for a rope configuration; <paramref name="seqLen"/> matters only for dynamic NTK.</summary>
    public static Tensor InverseFrequencies(RopeArgs args, int headDim, long seqLen)
    {
        using var scope = NewDisposeScope();
        double theta = args.Theta;
        if (args.Scaling is RopeScaling.Dynamic dyn && seqLen > dyn.OriginalMaxPositions)
            // NTK-aware base growth: theta * (factor * L / L0 - (factor - 1)) ^ (d / (d - 2))
            theta *= Math.Pow(dyn.Factor * seqLen / dyn.OriginalMaxPositions - (dyn.Factor - 1), headDim / (headDim - 2.0));

        // 1 / theta^(2i / d), i = 0 .. d/2-1, computed in fp32 like the reference
        var exponents = arange(0, headDim, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / headDim;
        var invFreq = 1.0f / pow(tensor((float)theta), exponents);

        switch (args.Scaling)
        {
            case RopeScaling.Linear lin:
                invFreq = invFreq / lin.Factor;
                break;
            case RopeScaling.Llama3 l3:
            {
                // Llama 3.1: wavelengths longer than L0/low are slowed by `factor`, shorter than L0/high kept,
                // in between blended linearly in L0/wavelength.
                double lowWavelen = l3.OriginalMaxPositions / l3.LowFreqFactor;
                double highWavelen = l3.OriginalMaxPositions / l3.HighFreqFactor;
                var wavelen = 2 * Math.PI / invFreq;
                var scaled = where(wavelen > lowWavelen, invFreq / l3.Factor, invFreq);
                var smooth = (l3.OriginalMaxPositions / wavelen - l3.LowFreqFactor) / (l3.HighFreqFactor - l3.LowFreqFactor);
                var blended = (1 - smooth) * scaled / l3.Factor + smooth * scaled;
                var medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
                invFreq = where(medium, blended, scaled);
                break;
            }
        }
        return invFreq.MoveToOuterDisposeScope();
    }

    /// <summary>cos and sin [B, T, D] for position ids [B, T], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) CosSin(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var invFreq = _invFreq.device == positionIds.device ? _invFreq : _invFreq.to(positionIds.device); // a model moved to a GPU
        if (_args.Scaling is RopeScaling.Dynamic dyn)
        {
            long seqLen = positionIds.max().item<long>() + 1; // host sync, dynamic NTK only
            if (seqLen > dyn.OriginalMaxPositions)
                invFreq = InverseFrequencies(_args, _headDim, seqLen).to(positionIds.device);
        }
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq; // [B, T, D/2]
        var emb = cat([freqs, freqs], dim: -1);                                 // [B, T, D]
        var cos = emb.cos().to(dtype);
        var sin = emb.sin().to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>x [B, H, T, D] rotated by cos/sin [B, T, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x[.., .., .., ..(int)half];
        var x2 = x[.., .., .., (int)half..];
        var rotated = cat([-x2, x1], dim: -1); // rotate_half
        return (x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    public void Dispose() => _invFreq.Dispose();
}
