using static TorchSharp.torch;

namespace TuneSharp.Peft.Quantization;

/// <summary>The fixed value tables of bitsandbytes' 4-bit NF4 type and its 8-bit dynamic map.</summary>
public static class Codebooks
{
    /// <summary>
    /// The 16 NF4 levels (QLoRA, Dettmers et al. 2023, appendix E): quantiles of N(0, 1) normalized to [-1, 1], with an
    /// exact zero. The constants are bitsandbytes' (float32 values written as decimals).
    /// </summary>
    public static IReadOnlyList<float> Nf4 { get; } =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    static float[]? _dynamic;

    /// <summary>
    /// bitsandbytes' signed 8-bit dynamic map (create_dynamic_map, 7 exponent bits): for exponent i = 0..6 the
    /// midpoints of linspace(0.1, 1, 2^i + 1) scaled by 10^(i-6), both signs, plus 0 and 1; 256 sorted float32 values.
    /// Computed with the same float32 tensor ops as the Python original so the values round identically.
    /// </summary>
    public static IReadOnlyList<float> Dynamic8 => _dynamic ??= BuildDynamic();

    static float[] BuildDynamic()
    {
        using var scope = NewDisposeScope();
        var values = new List<float>(256);
        for (int i = 0; i < 7; i++)
        {
            var bounds = linspace(0.1, 1.0, (1 << i) + 1, dtype: ScalarType.Float32);
            long n = bounds.shape[0];
            var means = (bounds.narrow(0, 0, n - 1) + bounds.narrow(0, 1, n - 1)) / 2.0; // float32 midpoints
            var scaled = means * Math.Pow(10, i - 6);                // float32 product, as bitsandbytes
            var pos = scaled.data<float>().ToArray();
            values.AddRange(pos);
            values.AddRange(pos.Select(v => -v));
        }
        values.Add(0f);
        values.Add(1f);
        values.Sort();
        return [.. values];
    }

    /// <summary>Largest half-distance between neighbouring values: the worst rounding error of nearest-value coding.</summary>
    public static double MaxHalfGap(IReadOnlyList<float> sortedCodes)
    {
        double best = 0;
        for (int i = 1; i < sortedCodes.Count; i++) best = Math.Max(best, (sortedCodes[i] - (double)sortedCodes[i - 1]) / 2);
        return best;
    }

    /// <summary>Midpoints between neighbouring codes [n - 1] (float32): nearest code index = number of midpoints below x.</summary>
    internal static Tensor Midpoints(IReadOnlyList<float> sortedCodes)
    {
        var c = sortedCodes;
        var mids = new float[c.Count - 1];
        for (int i = 0; i < mids.Length; i++) mids[i] = (c[i] + c[i + 1]) / 2f;
        return tensor(mids);
    }
}
