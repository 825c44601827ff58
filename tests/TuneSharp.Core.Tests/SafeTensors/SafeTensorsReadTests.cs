using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Core.Tests.SafeTensors;

public class SafeTensorsReadTests
{
    static string Stories => Fixtures.Get("models/stories260K-hf/model.safetensors");

    /// <summary>The header of a file decoded independently of the reader (JsonDocument keeps document order).</summary>
    static (long DataStart, List<(string Name, JsonElement Entry)> Entries) DecodeHeader(byte[] bytes)
    {
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var entries = doc.RootElement.EnumerateObject()
            .Where(p => p.Name != "__metadata__")
            .Select(p => (p.Name, p.Value.Clone()))
            .ToList();
        return (8 + n, entries);
    }

    [Fact]
    public void Stories260K_ListsTensorsInHeaderOrder_AllF32_WithTheKnownParameterCount()
    {
        using var file = SafeTensorsFile.Open(Stories);
        var (_, entries) = DecodeHeader(File.ReadAllBytes(Stories));

        Assert.Equal(entries.Select(e => e.Name), file.Tensors.Keys);
        Assert.Equal(47, file.Tensors.Count); // 5 layers x 9 + embeddings + final norm (tied lm_head)
        Assert.All(file.Tensors.Values, t => Assert.Equal(SafeDType.F32, t.DType));
        Assert.Equal(260_032, file.Tensors.Values.Sum(t => t.ElementCount)); // documented size of stories260K
        Assert.Equal([512L, 64], file.Tensors["model.embed_tokens.weight"].Shape);
        Assert.Equal([172L, 64], file.Tensors["model.layers.3.mlp.up_proj.weight"].Shape);
        Assert.Equal([64L, 172], file.Tensors["model.layers.0.mlp.down_proj.weight"].Shape);
        Assert.Equal("pt", file.Metadata["format"]);
        foreach (var (name, entry) in entries)
        {
            var offsets = entry.GetProperty("data_offsets");
            Assert.Equal(offsets[0].GetInt64(), file.Tensors[name].Begin);
            Assert.Equal(offsets[1].GetInt64(), file.Tensors[name].End);
        }
    }

    [Fact]
    public void Stories260K_Values_MatchBytesDecodedByHand()
    {
        using var scope = torch.NewDisposeScope(); // frees the temporaries of indexing / reshape / sum
        byte[] bytes = File.ReadAllBytes(Stories);
        var (dataStart, entries) = DecodeHeader(bytes);
        using var file = SafeTensorsFile.Open(Stories);

        foreach (var (name, row, col) in new[] { ("model.layers.3.mlp.up_proj.weight", 5, 17), ("model.embed_tokens.weight", 511, 63), ("model.norm.weight", 0, 7) })
        {
            var entry = entries.Single(e => e.Name == name).Entry;
            long begin = entry.GetProperty("data_offsets")[0].GetInt64();
            long cols = entry.GetProperty("shape").GetArrayLength() == 2 ? entry.GetProperty("shape")[1].GetInt64() : 1;
            long index = entry.GetProperty("shape").GetArrayLength() == 2 ? row * cols + col : col;
            float expected = BitConverter.ToSingle(bytes, (int)(dataStart + begin + index * 4));

            using var t = file.Load(name);
            Assert.Equal(ScalarType.Float32, t.dtype);
            float actual = t.dim() == 2 ? t[row, col].ToSingle() : t[col].ToSingle();
            Assert.Equal(expected, actual); // exact: same bits
            Assert.NotEqual(0f, actual);
        }
        // GetBytes is the raw slice of the file.
        var info = file.Tensors["model.norm.weight"];
        Assert.True(file.GetBytes("model.norm.weight").SequenceEqual(bytes.AsSpan((int)(dataStart + info.Begin), (int)info.ByteLength)));
    }

    [Fact]
    public void Stories260K_LoadsAsBFloat16_LikeTorchRounding()
    {
        using var file = SafeTensorsFile.Open(Stories);
        using var f32 = file.Load("model.layers.0.self_attn.q_proj.weight");
        using var bf16 = file.Load("model.layers.0.self_attn.q_proj.weight", ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        // Round to nearest even by hand on the fp32 bits, compare with the loaded bf16 bits (no NaNs in a trained model).
        float[] src = f32.data<float>().ToArray();
        var got = bf16.bytes.ToArray();
        for (int i = 0; i < src.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(src[i]);
            uint rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16;
            Assert.Equal((ushort)rounded, BinaryPrimitives.ReadUInt16LittleEndian(got.AsSpan(2 * i)));
        }
    }

    // ---- fixture written by tools/gen_safetensors_fixture.py (numpy + torch, hand-made header) ----

    static string Mixed => Fixtures.Repo("safetensors/mixed_dtypes.safetensors");

    static JsonElement MixedExpected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Repo("safetensors/mixed_dtypes.expected.json")));
        return doc.RootElement.Clone();
    }

    static double ParsePythonFloat(string s) => s switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        _ => double.Parse(s, CultureInfo.InvariantCulture),
    };

    [Fact]
    public void PythonFixture_HeaderOrderShapesOffsetsAndMetadata()
    {
        var expected = MixedExpected();
        using var file = SafeTensorsFile.Open(Mixed);

        Assert.Equal(expected.GetProperty("header_order").EnumerateArray().Select(e => e.GetString()), file.Tensors.Keys);
        foreach (var t in expected.GetProperty("tensors").EnumerateObject())
        {
            var info = file.Tensors[t.Name];
            Assert.Equal(t.Value.GetProperty("dtype").GetString(), SafeDTypes.Name(info.DType));
            Assert.Equal(t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), info.Shape);
            Assert.Equal(t.Value.GetProperty("data_offsets")[0].GetInt64(), info.Begin);
            Assert.Equal(t.Value.GetProperty("data_offsets")[1].GetInt64(), info.End);
        }
        var meta = expected.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(meta.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
    }

    [Fact]
    public void PythonFixture_EveryDType_LoadsExactly()
    {
        var expected = MixedExpected();
        using var file = SafeTensorsFile.Open(Mixed);
        int checkedValues = 0;
        foreach (var t in expected.GetProperty("tensors").EnumerateObject())
        {
            var info = file.Tensors[t.Name];
            var values = t.Value.GetProperty("values").EnumerateArray().ToList();
            using var loaded = file.Load(t.Name);
            Assert.Equal(SafeDTypes.ToTorch(info.DType), loaded.dtype);
            Assert.Equal(info.Shape, loaded.shape);
            switch (info.DType)
            {
                case SafeDType.F64 or SafeDType.F32 or SafeDType.F16 or SafeDType.BF16:
                    // Widening to fp64 is exact for every float type, so compare bit patterns (NaN by NaN-ness).
                    using (var wide = file.Load(t.Name, ScalarType.Float64))
                    {
                        double[] got = wide.numel() == 0 ? [] : wide.data<double>().ToArray(); // ToArray throws on empty tensors
                        for (int i = 0; i < values.Count; i++)
                        {
                            double want = ParsePythonFloat(values[i].GetString()!);
                            if (double.IsNaN(want)) Assert.True(double.IsNaN(got[i]), $"{t.Name}[{i}]");
                            else Assert.Equal(BitConverter.DoubleToInt64Bits(want), BitConverter.DoubleToInt64Bits(got[i]));
                        }
                    }
                    break;
                case SafeDType.BOOL:
                    Assert.Equal(values.Select(v => v.GetBoolean()), loaded.data<bool>().ToArray());
                    break;
                default:
                    using (var wide = loaded.to(ScalarType.Int64))
                        Assert.Equal(values.Select(v => v.GetInt64()), wide.data<long>().ToArray());
                    break;
            }
            checkedValues += values.Count;
        }
        Assert.Equal(42, checkedValues); // 13 tensors (one empty): 6+4+4+5+3+3+2+4+3+5+1+0+2 values
    }

    [Fact]
    public void PythonFixture_HalfTypesToF32_MatchBitLevelDecoding()
    {
        using var scope = torch.NewDisposeScope(); // frees the temporaries of indexing / reshape / sum
        using var file = SafeTensorsFile.Open(Mixed);
        // bf16 -> f32 is the top 16 bits; f16 -> f32 via System.Half. Both independent of torch.
        byte[] bf = file.GetBytes("d.bf16").ToArray();
        using (var t = file.Load("d.bf16", ScalarType.Float32))
            for (int i = 0; i < bf.Length / 2; i++)
                Assert.Equal(BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bf.AsSpan(2 * i)) << 16), t.data<float>()[i]);
        byte[] h = file.GetBytes("c.f16").ToArray();
        using (var t = file.Load("c.f16", ScalarType.Float32).reshape(-1))
            for (int i = 0; i < h.Length / 2; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits((float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(2 * i)))),
                    BitConverter.SingleToInt32Bits(t.data<float>()[i]));
    }

    [Fact]
    public void BoolBytesOtherThanOne_LoadAsTrue()
    {
        using var dir = new TempDir();
        string path = dir.File("bools.safetensors");
        File.WriteAllBytes(path, RawSafeTensors.Build(RawSafeTensors.J("{'b':{'dtype':'BOOL','shape':[4],'data_offsets':[0,4]}}"), 0)
            .Concat(new byte[] { 0, 1, 2, 255 }).ToArray());
        using var file = SafeTensorsFile.Open(path);
        using var b = file.Load("b");
        Assert.Equal([false, true, true, true], b.data<bool>().ToArray());
    }

    [Fact]
    public void Dispose_ReleasesMapping_LoadedTensorsStayValid()
    {
        using var scope = torch.NewDisposeScope(); // frees the temporaries of indexing / reshape / sum
        using var dir = new TempDir();
        string path = dir.File("copy.safetensors");
        File.Copy(Mixed, path);
        var file = SafeTensorsFile.Open(path);
        using var a = file.Load("a.f64");
        double before = a.sum().ToDouble();
        file.Dispose();
        file.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => file.Load("a.f64"));
        Assert.Throws<ObjectDisposedException>(() => { _ = file.GetBytes("a.f64").Length; });
        // The loaded tensor is a copy: overwrite and delete the file, then use the tensor.
        File.WriteAllBytes(path, new byte[1194]);
        File.Delete(path);
        Assert.Equal(before, a.sum().ToDouble());
        Assert.Equal(2.5, a[1, 2].ToDouble());
    }

    [Fact]
    public void Load_ConvertsDType_AndRejectsUnknownNames()
    {
        using var file = SafeTensorsFile.Open(Mixed);
        using var i8 = file.Load("h.i8", ScalarType.Float32);
        Assert.Equal(new float[] { -128, 127, 0, -1 }, i8.data<float>().ToArray());
        var e = Assert.Throws<KeyNotFoundException>(() => file.Load("nope"));
        Assert.Contains("mixed_dtypes.safetensors", e.Message);
        Assert.Contains("'nope'", e.Message);
    }
}

/// <summary>Uses the global live-tensor count, so it must not run beside other tests.</summary>
[CollectionDefinition(nameof(LiveTensorCount), DisableParallelization = true)]
public sealed class LiveTensorCount;

[Collection(nameof(LiveTensorCount))]
public class SafeTensorsLeakTests
{
    [Fact]
    public void Load_LeavesNoIntermediateTensorsAlive()
    {
        using var file = SafeTensorsFile.Open(Fixtures.Repo("safetensors/mixed_dtypes.safetensors"));
        foreach (string name in file.Tensors.Keys) file.Load(name, ScalarType.Float32).Dispose(); // warm-up
        // Tensors other tests left to the GC are finalized here, not in the middle of the count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long baseline = torch.Tensor.TotalCount;
        for (int round = 0; round < 5; round++)
            foreach (string name in file.Tensors.Keys)
                file.Load(name, name == "j.bool" ? ScalarType.Float32 : null).Dispose();
        Assert.Equal(baseline, torch.Tensor.TotalCount);
    }
}
