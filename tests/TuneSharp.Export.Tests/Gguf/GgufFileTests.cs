using TuneSharp.Export.Gguf;
using Xunit;

namespace TuneSharp.Export.Tests.Gguf;

public sealed class GgufFileTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-gguf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Header_OneKey_NoTensors_HandComputedBytes()
    {
        var path = Path.Combine(dir, "h.gguf");
        new GgufWriter().Add("a", (byte)7).Write(path);
        byte[] expected =
        [
            0x47, 0x47, 0x55, 0x46,                         // magic "GGUF"
            0x03, 0x00, 0x00, 0x00,                         // version 3 (u32)
            0, 0, 0, 0, 0, 0, 0, 0,                         // tensor count 0 (u64)
            1, 0, 0, 0, 0, 0, 0, 0,                         // metadata count 1 (u64)
            1, 0, 0, 0, 0, 0, 0, 0, 0x61,                   // key: length 1 (u64), "a"
            0, 0, 0, 0,                                     // value type 0 = u8 (u32)
            0x07,                                           // value 7
            .. new byte[64 - 38],                           // 38 bytes so far, zero padding up to alignment 32
        ];
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void TensorInfo_HandComputedBytes()
    {
        // One F32 tensor "t" of torch shape [1, 2] = {1, 2}: dims written innermost first (2, 1), offset 0.
        var path = Path.Combine(dir, "t.gguf");
        new GgufWriter().AddTensor("t", [1, 2], GgmlType.F32, [1f, 2f]).Write(path);
        var bytes = File.ReadAllBytes(path);
        byte[] info =
        [
            1, 0, 0, 0, 0, 0, 0, 0, 0x74,                   // name: length 1, "t"
            2, 0, 0, 0,                                     // n_dims 2 (u32)
            2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // dims (u64): ne0 = 2, ne1 = 1
            0, 0, 0, 0,                                     // ggml type 0 = F32
            0, 0, 0, 0, 0, 0, 0, 0,                         // offset 0
        ];
        Assert.Equal(info, bytes[24..(24 + info.Length)]);
        // Header 24 + info 41 = 65 -> zero padding, data starts at 96: 1.0f = 00 00 80 3F, 2.0f = 00 00 00 40.
        Assert.Equal(104, bytes.Length);
        Assert.Equal(new byte[96 - 65], bytes[65..96]);
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40 }, bytes[96..]);
    }

    [Fact]
    public void WriteRead_AllValueTypes_AllTensorTypes()
    {
        var path = Path.Combine(dir, "all.gguf");
        var rng = new Random(1);
        var data = Enumerable.Range(0, 3 * 64).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var w = new GgufWriter { Alignment = 64 };
        object[] values =
        [
            (byte)200, (sbyte)-5, (ushort)60000, (short)-30000, 4000000000u, -2000000000, ulong.MaxValue, long.MinValue,
            1.25f, Math.PI, true, "héllo ▁world",
            new[] { 1, -2, 3 }, new[] { "a", "", "ü" }, new[] { 0.5f, -1f }, new[] { true, false }, Array.Empty<long>(),
        ];
        for (int i = 0; i < values.Length; i++) w.Add($"k.{i}", values[i]);
        GgmlType[] types = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0];
        foreach (var t in types) w.AddTensor($"w.{t}", [3, 64], t, data);
        w.AddTensor("odd", [5], GgmlType.F32, [1, 2, 3, 4, 5]); // 20 bytes: forces padding before the next tensor
        w.AddTensor("after", [32], GgmlType.Q8_0, data.AsSpan(0, 32));
        w.Write(path);

        var r = new GgufReader(path);
        Assert.Equal(3u, r.Version);
        Assert.Equal(64u, r.Alignment);
        Assert.Equal(64u, r.Metadata["general.alignment"]);
        for (int i = 0; i < values.Length; i++)
        {
            var actual = r.Metadata[$"k.{i}"];
            Assert.Equal(values[i].GetType(), actual.GetType());
            Assert.Equal(values[i], actual);
        }
        Assert.Equal(0, r.DataStart % 64);
        Assert.All(r.Tensors, t => Assert.Equal(0, t.Offset % 64));
        foreach (var t in types)
        {
            var info = r.Tensors.Single(x => x.Name == $"w.{t}");
            Assert.Equal(new long[] { 64, 3 }, info.Dims);
            Assert.Equal(t, info.Type);
            // The reader returns exactly what the encoder produced, and decodes like the decoder.
            Assert.Equal(GgmlQuant.Encode(t, data), r.RawData(info).ToArray());
            Assert.Equal(GgmlQuant.Decode(t, GgmlQuant.Encode(t, data), data.Length), r.ReadFloats($"w.{t}"));
        }
        Assert.Equal(data, r.ReadFloats("w.F32"));
        Assert.Equal([1f, 2, 3, 4, 5], r.ReadFloats("odd"));
        Assert.Equal(GgmlQuant.Decode(GgmlType.Q8_0, GgmlQuant.Encode(GgmlType.Q8_0, data.AsSpan(0, 32)), 32), r.ReadFloats("after"));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
    }

    [Fact]
    public void Errors_NameKeyAndTensor()
    {
        var w = new GgufWriter().Add("x", 1);
        Assert.Contains("'x'", Assert.Throws<ArgumentException>(() => w.Add("x", 2)).Message);
        Assert.Contains("'y'", Assert.Throws<ArgumentException>(() => w.Add("y", new object())).Message);
        Assert.Contains("'q'", Assert.Throws<ArgumentException>(() => w.AddTensor("q", [2, 48], GgmlType.Q4_0, new float[96])).Message);
        var bad = Path.Combine(dir, "bad.gguf");
        File.WriteAllBytes(bad, "GGUX0000"u8.ToArray());
        Assert.Contains("bad.gguf", Assert.Throws<InvalidDataException>(() => new GgufReader(bad)).Message);
    }
}
