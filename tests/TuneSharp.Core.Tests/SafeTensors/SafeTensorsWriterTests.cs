using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using TuneSharp.Core.SafeTensors;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Core.Tests.SafeTensors;

public class SafeTensorsWriterTests
{
    /// <summary>One tensor of every writable dtype, plus a scalar, an empty, a non-contiguous and a grad-tracking tensor.</summary>
    static List<KeyValuePair<string, Tensor>> AllDTypes()
    {
        var g = new Generator(1234);
        Tensor F(ScalarType t) => randn([3, 5], generator: g).mul(100).to(t);
        return new()
        {
            new("f64", F(ScalarType.Float64)),
            new("f32", F(ScalarType.Float32)),
            new("f16", F(ScalarType.Float16)),
            new("bf16", F(ScalarType.BFloat16)),
            new("i64", tensor(new[] { long.MinValue, long.MaxValue, -1L, 0L, 1L << 40 })),
            new("i32", tensor(new[] { int.MinValue, int.MaxValue, -1, 0 })),
            new("i16", tensor(new short[] { short.MinValue, short.MaxValue, -1 })),
            new("i8", tensor(new sbyte[] { sbyte.MinValue, sbyte.MaxValue, -1 })),
            new("u8", tensor(new byte[] { 0, 255, 7 })),
            new("bool", tensor(new[] { true, false, true })),
            new("scalar", tensor(3.5f)),
            new("empty", zeros(0, 4, dtype: ScalarType.BFloat16)),
            new("transposed", arange(12, dtype: ScalarType.Float32).reshape(3, 4).t()),
            new("model.layers.0.ünï", randn([2, 3], generator: g).requires_grad_(true)),
        };
    }

    static byte[] Bytes(Tensor t)
    {
        using var c = t.detach().contiguous();
        return c.numel() == 0 ? [] : c.bytes.ToArray();
    }

    [Fact]
    public void Write_ThenRead_RoundTripsEveryDType_BitExactly()
    {
        using var dir = new TempDir();
        string path = dir.File("all.safetensors");
        var tensors = AllDTypes();
        SafeTensorsWriter.Write(path, tensors);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(tensors.Select(t => t.Key).Order(StringComparer.Ordinal), file.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, original) in tensors)
        {
            var info = file.Tensors[name];
            Assert.Equal(SafeDTypes.FromTorch(original.dtype), info.DType);
            Assert.Equal(original.shape, info.Shape);
            Assert.Equal(Bytes(original), file.GetBytes(name).ToArray());
            using var loaded = file.Load(name);
            Assert.Equal(original.dtype, loaded.dtype);
            Assert.Equal(original.shape, loaded.shape);
            Assert.Equal(Bytes(original), Bytes(loaded));
            Assert.False(loaded.requires_grad);
        }
        foreach (var (_, t) in tensors) t.Dispose();
    }

    [Fact]
    public void Write_LayoutIsAlignedAndTilesTheFile_CheckedWithAnIndependentParse()
    {
        using var dir = new TempDir();
        string path = dir.File("layout.safetensors");
        var tensors = AllDTypes();
        SafeTensorsWriter.Write(path, tensors);
        byte[] bytes = File.ReadAllBytes(path);

        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8); // header padded with spaces
        Assert.Equal((byte)' ', bytes[8 + n - 1]);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        Assert.Equal("__metadata__", doc.RootElement.EnumerateObject().First().Name);
        long expectedBegin = 0;
        int lastSize = int.MaxValue;
        foreach (var p in doc.RootElement.EnumerateObject().Skip(1))
        {
            int size = SafeDTypes.ElementSize(SafeDTypes.Parse(p.Value.GetProperty("dtype").GetString()!, "x", p.Name));
            long begin = p.Value.GetProperty("data_offsets")[0].GetInt64();
            Assert.Equal(expectedBegin, begin);
            Assert.Equal(0, begin % size);
            Assert.True(size <= lastSize, "largest element size first");
            lastSize = size;
            expectedBegin = p.Value.GetProperty("data_offsets")[1].GetInt64();
        }
        Assert.Equal(bytes.Length, 8 + n + expectedBegin);
        foreach (var (_, t) in tensors) t.Dispose();
    }

    [Fact]
    public void Metadata_IsPreserved_WithFormatPtAddedOnlyWhenAbsent()
    {
        using var dir = new TempDir();
        using var t = ones(2);
        var meta = new Dictionary<string, string> { ["step"] = "42", ["note"] = "ünï \"quoted\" <tag> + \\" };
        SafeTensorsWriter.Write(dir.File("a.safetensors"), [new("t", t)], meta);
        SafeTensorsWriter.Write(dir.File("b.safetensors"), [new("t", t)], new Dictionary<string, string> { ["format"] = "mlx" });
        SafeTensorsWriter.Write(dir.File("c.safetensors"), [new("t", t)]);

        using (var a = SafeTensorsFile.Open(dir.File("a.safetensors")))
            Assert.Equal(new Dictionary<string, string>(meta) { ["format"] = "pt" }.OrderBy(p => p.Key), a.Metadata.OrderBy(p => p.Key));
        using (var b = SafeTensorsFile.Open(dir.File("b.safetensors")))
            Assert.Equal([new("format", "mlx")], b.Metadata);
        using (var c = SafeTensorsFile.Open(dir.File("c.safetensors")))
            Assert.Equal([new("format", "pt")], c.Metadata);
    }

    [Fact]
    public void Write_IsAtomic_LeavesNoTempFile_AndAnOpenReaderKeepsTheOldContent()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        using var first = full(4, 1f);
        using var second = full(6, 2f);
        SafeTensorsWriter.Write(path, [new("w", first)]);
        Assert.Equal(["model.safetensors"], dir.FileNames());

        using var old = SafeTensorsFile.Open(path);
        SafeTensorsWriter.Write(path, [new("w", second)]);
        Assert.Equal(["model.safetensors"], dir.FileNames());
        // The rename replaced the directory entry; the mapping still sees the old file.
        using (var t = old.Load("w")) Assert.Equal(new float[] { 1, 1, 1, 1 }, t.data<float>().ToArray());
        using var fresh = SafeTensorsFile.Open(path);
        using (var t = fresh.Load("w")) Assert.Equal(Enumerable.Repeat(2f, 6), t.data<float>().ToArray());
    }

    [Fact]
    public void FailedWrite_MidData_LeavesThePreviousFileIntact_AndNoTempFile()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        using var good = arange(10, dtype: ScalarType.Float32);
        SafeTensorsWriter.Write(path, [new("w", good)]);
        byte[] before = File.ReadAllBytes(path);

        // A meta tensor has a shape and dtype (so the header is written) but no data: copying it out throws mid-file.
        using var ok = ones(1000);
        using var meta = empty([8, 8], device: new Device(DeviceType.META));
        var e = Assert.ThrowsAny<Exception>(() => SafeTensorsWriter.Write(path, [new("a", ok), new("b", meta)]));
        Assert.Contains("meta", e.Message); // torch: cannot copy out of a meta tensor

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], dir.FileNames());
    }

    [Fact]
    public void Write_RejectsDuplicateOrReservedNames_AndUnsupportedTypes_BeforeTouchingTheDisk()
    {
        using var dir = new TempDir();
        string path = dir.File("x.safetensors");
        using var t = ones(2);
        using var complex = ones(2, dtype: ScalarType.ComplexFloat32);
        Assert.Contains("'a' is given twice", Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("a", t), new("a", t)])).Message);
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("__metadata__", t)]));
        Assert.Throws<NotSupportedException>(() => SafeTensorsWriter.Write(path, [new("c", complex)]));
        Assert.Empty(dir.FileNames());
    }

    [Fact]
    public void WriteSharded_SplitsBySize_WritesHfIndex_AndReadsBackThroughTheCheckpoint()
    {
        using var dir = new TempDir();
        var tensors = Enumerable.Range(0, 7)
            .Select(i => new KeyValuePair<string, Tensor>($"model.layers.{i}.w", full(10 * (i + 1), (float)i))) // 40..280 bytes
            .Append(new("big", zeros(200))) // 800 bytes: larger than the limit, gets its own shard
            .ToList();
        long total = tensors.Sum(t => t.Value.numel() * 4);
        var written = SafeTensorsWriter.WriteSharded(dir.Path, tensors, maxShardBytes: 300,
            metadata: new Dictionary<string, string> { ["run"] = "7" });

        string index = dir.File("model.safetensors.index.json");
        Assert.Equal(index, written[^1]);
        var shards = written.Take(written.Count - 1).Select(f => Path.GetFileName(f)).ToList();
        int count = shards.Count;
        Assert.True(count > 2);
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"model-{i:D5}-of-{count:D5}.safetensors"), shards);
        Assert.Equal(shards.Append("model.safetensors.index.json").Order(StringComparer.Ordinal), dir.FileNames());

        using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
        Assert.Equal(total, doc.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var weightMap = doc.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(tensors.Select(t => t.Key), weightMap.Keys);
        foreach (string shard in shards)
        {
            using var file = SafeTensorsFile.Open(dir.File(shard));
            long bytes = file.Tensors.Values.Sum(t => t.ByteLength);
            Assert.True(bytes <= 300 || file.Tensors.Count == 1, $"{shard} has {bytes} bytes");
            Assert.Equal("7", file.Metadata["run"]);
            Assert.All(file.Tensors.Keys, name => Assert.Equal(shard, weightMap[name]));
        }

        using var checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        Assert.Equal(tensors.Select(t => t.Key), checkpoint.Names);
        foreach (var (name, original) in tensors)
        {
            Assert.True(checkpoint.Contains(name));
            Assert.Equal(original.shape, checkpoint.Info(name).Shape);
            using var loaded = checkpoint.Load(name);
            Assert.Equal(Bytes(original), Bytes(loaded));
            original.Dispose();
        }
    }

    [Fact]
    public void WriteSharded_WhenEverythingFits_WritesOneFile_AndRemovesAStaleShardedLayout()
    {
        using var dir = new TempDir();
        using var a = ones(100);
        using var b = ones(100);
        SafeTensorsWriter.WriteSharded(dir.Path, [new("a", a), new("b", b)], maxShardBytes: 400);
        Assert.Equal(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"], dir.FileNames());
        File.WriteAllText(dir.File("other.safetensors.index.json"), "{}"); // another base name: left alone

        var written = SafeTensorsWriter.WriteSharded(dir.Path, [new("a", a), new("b", b)]);
        Assert.Equal([dir.File("model.safetensors")], written);
        Assert.Equal(["model.safetensors", "other.safetensors.index.json"], dir.FileNames());
        using var checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        Assert.Equal(["a", "b"], checkpoint.Names);
    }

    [Fact]
    public void WriteSharded_FewerShardsThanBefore_RemovesTheOldShards()
    {
        using var dir = new TempDir();
        var tensors = Enumerable.Range(0, 4).Select(i => new KeyValuePair<string, Tensor>($"t{i}", ones(25))).ToList(); // 100 bytes each
        SafeTensorsWriter.WriteSharded(dir.Path, tensors, maxShardBytes: 100, baseName: "adapter");
        Assert.Equal(5, dir.FileNames().Length);
        SafeTensorsWriter.WriteSharded(dir.Path, tensors, maxShardBytes: 200, baseName: "adapter");
        Assert.Equal(["adapter-00001-of-00002.safetensors", "adapter-00002-of-00002.safetensors", "adapter.safetensors.index.json"], dir.FileNames());
        using var checkpoint = SafeTensorsCheckpoint.Open(dir.File("adapter.safetensors.index.json"));
        Assert.Equal(4, checkpoint.Names.Count);
        foreach (var (_, t) in tensors) t.Dispose();
    }
}
