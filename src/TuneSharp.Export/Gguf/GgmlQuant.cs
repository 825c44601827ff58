using System.Buffers.Binary;

namespace TuneSharp.Export.Gguf;

/// <summary>
/// Encoders and decoders for ggml tensor data, bit-exact to ggml's reference quantizers (`quantize_row_q8_0_ref`,
/// `quantize_row_q4_0_ref`): what llama.cpp itself writes for the same floats.
/// </summary>
public static class GgmlQuant
{
    /// <summary>Values per quantization block (QK8_0 = QK4_0 = 32).</summary>
    public const int BlockSize = 32;

    /// <summary>Values per block (1 for plain floats) and bytes per block.</summary>
    public static (int Values, int Bytes) Layout(GgmlType type) => type switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 or GgmlType.BF16 => (1, 2),
        GgmlType.Q8_0 => (BlockSize, 2 + BlockSize),
        GgmlType.Q4_0 => (BlockSize, 2 + BlockSize / 2),
        _ => throw new NotSupportedException($"ggml type {type} is not supported"),
    };

    /// <summary>Bytes needed for <paramref name="count"/> values of <paramref name="type"/>.</summary>
    public static long ByteCount(GgmlType type, long count)
    {
        var (values, bytes) = Layout(type);
        if (count % values != 0) throw new ArgumentException($"{type}: {count} values is not a multiple of the block size {values}");
        return count / values * bytes;
    }

    /// <summary>Encodes floats (row-major, blocks along the innermost dimension) to ggml bytes.</summary>
    public static byte[] Encode(GgmlType type, ReadOnlySpan<float> x)
    {
        var dst = new byte[ByteCount(type, x.Length)];
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst.AsSpan(4 * i), x[i]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dst.AsSpan(2 * i), (Half)x[i]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst.AsSpan(2 * i), ToBf16(x[i]));
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < x.Length / BlockSize; b++) EncodeQ8_0(x.Slice(b * BlockSize, BlockSize), dst.AsSpan(b * 34, 34));
                break;
            case GgmlType.Q4_0:
                for (int b = 0; b < x.Length / BlockSize; b++) EncodeQ4_0(x.Slice(b * BlockSize, BlockSize), dst.AsSpan(b * 18, 18));
                break;
            default:
                throw new NotSupportedException($"ggml type {type} is not supported");
        }
        return dst;
    }

    /// <summary>Decodes <paramref name="count"/> values of ggml bytes back to floats.</summary>
    public static float[] Decode(GgmlType type, ReadOnlySpan<byte> src, long count)
    {
        if (src.Length < ByteCount(type, count)) throw new ArgumentException($"{type}: {count} values need {ByteCount(type, count)} bytes, got {src.Length}");
        var y = new float[count];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = type switch
            {
                GgmlType.F32 => BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]),
                GgmlType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]),
                GgmlType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16),
                GgmlType.Q8_0 => Scale(src, i / BlockSize * 34) * (sbyte)src[i / BlockSize * 34 + 2 + i % BlockSize],
                GgmlType.Q4_0 => Scale(src, i / BlockSize * 18) * (Nibble(src.Slice(i / BlockSize * 18 + 2, 16), i % BlockSize) - 8),
                _ => throw new NotSupportedException($"ggml type {type} is not supported"),
            };
        }
        return y;
    }

    static float Scale(ReadOnlySpan<byte> src, int blockStart) => (float)BinaryPrimitives.ReadHalfLittleEndian(src[blockStart..]);

    // Value j < 16 sits in the low nibble of byte j, value j >= 16 in the high nibble of byte j - 16.
    static int Nibble(ReadOnlySpan<byte> qs, int j) => j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4;

    /// <summary>fp32 -> bf16 with round-to-nearest-even; NaN stays a quiet NaN (as ggml's converter).</summary>
    public static ushort ToBf16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    // Q8_0: d = amax / 127 stored as fp16; q = round-half-away(x * (1/d)) with the fp32 d (as the reference does).
    static void EncodeQ8_0(ReadOnlySpan<float> x, Span<byte> dst)
    {
        float amax = 0f;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(dst, (Half)d);
        for (int j = 0; j < BlockSize; j++) dst[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
    }

    // Q4_0: d = m / -8 where m is the value of largest magnitude (first one on ties), so m itself maps to q = 0;
    // q = min(15, trunc(x / d + 8.5)); bytes hold value j (low nibble) and value j + 16 (high nibble).
    static void EncodeQ4_0(ReadOnlySpan<float> x, Span<byte> dst)
    {
        float amax = 0f, max = 0f;
        foreach (float v in x)
        {
            if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(dst, (Half)d);
        for (int j = 0; j < BlockSize / 2; j++)
        {
            int lo = Math.Min(15, (int)(x[j] * id + 8.5f));
            int hi = Math.Min(15, (int)(x[j + 16] * id + 8.5f));
            dst[2 + j] = (byte)(lo | (hi << 4));
        }
    }
}
