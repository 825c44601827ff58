using TuneSharp.Export.Gguf;
using Xunit;

namespace TuneSharp.Export.Tests.Gguf;

/// <summary>Expected bytes below are computed by hand from ggml's reference algorithms (see the comments).</summary>
public sealed class GgmlQuantTests
{
    static float[] Block(params (int Index, float Value)[] values)
    {
        var x = new float[32];
        foreach (var (i, v) in values) x[i] = v;
        return x;
    }

    static byte[] Bytes(byte[] head, int total, byte fill)
    {
        var b = Enumerable.Repeat(fill, total).ToArray();
        head.CopyTo(b, 0);
        return b;
    }

    [Fact]
    public void Q8_0_ScaleOne_RoundsHalfAwayFromZero()
    {
        // amax = 127 -> d = 1.0 -> fp16 0x3C00 (little-endian 00 3C); q = round(x * 1) half away from zero:
        // 127 -> 0x7F, -127 -> 0x81, 63.5 -> 64 = 0x40, -0.5 -> -1 = 0xFF, 2.5 -> 3 (banker's rounding would give 2); zeros -> 0.
        var x = Block((0, 127f), (1, -127f), (2, 63.5f), (3, -0.5f), (4, 2.5f));
        var expected = Bytes([0x00, 0x3C, 0x7F, 0x81, 0x40, 0xFF, 0x03], 34, 0x00);
        Assert.Equal(expected, GgmlQuant.Encode(GgmlType.Q8_0, x));
    }

    [Fact]
    public void Q8_0_ScaleRoundedToFp16_QuantsUseFp32Scale()
    {
        // amax = 1 -> d = 1/127 = 0.0078740 = 2^-7 * 1.00787; fp16 mantissa 0.00787 * 1024 = 8.06 -> 8:
        // sign 0, exponent 8 (01000), mantissa 0000001000 -> 0x2008 (bytes 08 20).
        // q uses id = 1/d (fp32, ~127): 1 -> 127 = 0x7F, -0.25 -> -31.75 -> -32 = 0xE0, 0.1 -> 12.7 -> 13 = 0x0D.
        var x = Block((0, 1f), (1, -0.25f), (2, 0.1f));
        var expected = Bytes([0x08, 0x20, 0x7F, 0xE0, 0x0D], 34, 0x00);
        Assert.Equal(expected, GgmlQuant.Encode(GgmlType.Q8_0, x));
    }

    [Fact]
    public void Q8_0_AllZero_IsAllZeroBytes()
    {
        // amax = 0 -> d = 0, id = 0 (no division by zero) -> every byte 0.
        Assert.Equal(new byte[34], GgmlQuant.Encode(GgmlType.Q8_0, new float[32]));
    }

    [Fact]
    public void Q4_0_NegativeMax_NibblesPackedLowFirstHalf()
    {
        // Largest magnitude is -8 -> d = -8 / -8 = 1 (fp16 00 3C), id = 1; q = min(15, trunc(x + 8.5)):
        // x[0]=-8 -> 0, x[1]=7 -> 15, x[2]=0 -> 8, x[3]=-0.5 -> 8, x[4]=0.4 -> 8, x[5]=-3 -> 5,
        // x[16]=7.9 -> 16 -> clamped 15, x[17]=-7.6 -> 0, x[18]=1 -> 9; zeros -> 8.
        // byte j = q[j] | q[j+16] << 4: F0, 0F, 98, 88, 88, 85, then 88.
        var x = Block((0, -8f), (1, 7f), (3, -0.5f), (4, 0.4f), (5, -3f), (16, 7.9f), (17, -7.6f), (18, 1f));
        var expected = Bytes([0x00, 0x3C, 0xF0, 0x0F, 0x98, 0x88, 0x88, 0x85], 18, 0x88);
        Assert.Equal(expected, GgmlQuant.Encode(GgmlType.Q4_0, x));
    }

    [Fact]
    public void Q4_0_PositiveMax_FirstOfEqualMagnitudesWins()
    {
        // |16| = |-16|: the first (16) is the max -> d = 16 / -8 = -2 (fp16 0xC000: bytes 00 C0), id = -0.5.
        // x[0]=16 -> -8 + 8.5 -> 0, x[1]=-16 -> 16.5 -> 15 (clamped), x[2]=4 -> 6.5 -> 6; zeros -> 8 (high nibbles all 8).
        var x = Block((0, 16f), (1, -16f), (2, 4f));
        var expected = Bytes([0x00, 0xC0, 0x80, 0x8F, 0x86], 18, 0x88);
        Assert.Equal(expected, GgmlQuant.Encode(GgmlType.Q4_0, x));
    }

    [Fact]
    public void Raw_F32_F16_BF16()
    {
        // F32 1.5 = 0x3FC00000; F16 1.0 = 0x3C00, 65504 = 0x7BFF (largest normal).
        Assert.Equal(new byte[] { 0x00, 0x00, 0xC0, 0x3F }, GgmlQuant.Encode(GgmlType.F32, [1.5f]));
        Assert.Equal(new byte[] { 0x00, 0x3C, 0xFF, 0x7B }, GgmlQuant.Encode(GgmlType.F16, [1f, 65504f]));
        // BF16 keeps the top 16 bits, round to nearest even: 1 = 0x3F80; 1 + 2^-8 is a tie -> even 0x3F80;
        // 1 + 3*2^-8 is a tie between 0x3F81 and 0x3F82 -> even 0x3F82; -2 = 0xC000.
        Assert.Equal(new byte[] { 0x80, 0x3F, 0x80, 0x3F, 0x82, 0x3F, 0x00, 0xC0 },
            GgmlQuant.Encode(GgmlType.BF16, [1f, 1f + 1f / 256, 1f + 3f / 256, -2f]));
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void RoundTrip_ErrorWithinFormatBound(GgmlType type)
    {
        var rng = new Random(7);
        var x = Enumerable.Range(0, 32 * 64).Select(i => (float)(rng.NextDouble() * 2 - 1) * (1 + i / 32)).ToArray();
        var y = GgmlQuant.Decode(type, GgmlQuant.Encode(type, x), x.Length);
        for (int b = 0; b < x.Length / 32; b++)
        {
            float amax = x.Skip(b * 32).Take(32).Max(MathF.Abs);
            for (int i = b * 32; i < b * 32 + 32; i++)
            {
                float bound = type switch
                {
                    // half a step of d = amax/127, plus the fp16 rounding of d (rel. 2^-11) times |q| <= 127
                    GgmlType.Q8_0 => amax / 127 * 0.5f + amax * 0.0005f,
                    // the clamp at 15 can cost a whole step of d = amax/8, plus fp16 rounding of d times |q - 8| <= 8
                    GgmlType.Q4_0 => amax / 8 + amax * 0.0005f,
                    GgmlType.F16 => MathF.Abs(x[i]) * 0.0005f,
                    _ => MathF.Abs(x[i]) * 0.004f,
                };
                Assert.True(MathF.Abs(x[i] - y[i]) <= bound, $"{type} value {i}: {x[i]} -> {y[i]}, bound {bound}");
            }
        }
    }

    [Fact]
    public void Encode_RejectsPartialBlock()
    {
        var e = Assert.Throws<ArgumentException>(() => GgmlQuant.Encode(GgmlType.Q8_0, new float[31]));
        Assert.Contains("block size 32", e.Message);
    }
}
