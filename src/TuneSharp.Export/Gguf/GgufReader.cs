using System.Text;

namespace TuneSharp.Export.Gguf;

/// <summary>One tensor's entry in a GGUF file: dims in GGUF order (innermost first) and the offset in the data section.</summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, long Offset)
{
    /// <summary>Dims in torch order (outermost first).</summary>
    public long[] TorchShape => [.. Dims.Reverse()];

    /// <summary>Number of values.</summary>
    public long Count => Dims.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Reads a GGUF v3 file fully into memory: metadata (CLR-typed as <see cref="GgufWriter"/> takes them) and tensors,
/// decoded to floats on request. Meant for verification and small files.
/// </summary>
public sealed class GgufReader
{
    readonly byte[] bytes;
    readonly long dataStart;

    public uint Version { get; }
    public IReadOnlyDictionary<string, object> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public uint Alignment { get; }

    public GgufReader(string path)
    {
        bytes = File.ReadAllBytes(path);
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        try
        {
            if (!r.ReadBytes(4).AsSpan().SequenceEqual("GGUF"u8)) throw new InvalidDataException($"{path}: not a GGUF file (bad magic)");
            Version = r.ReadUInt32();
            if (Version != 3) throw new InvalidDataException($"{path}: GGUF version {Version}, only 3 is supported");
            ulong tensorCount = r.ReadUInt64(), kvCount = r.ReadUInt64();
            var meta = new Dictionary<string, object>();
            for (ulong i = 0; i < kvCount; i++)
            {
                string key = ReadString(r);
                if (!meta.TryAdd(key, ReadValue(r, (GgufValueType)r.ReadUInt32(), path, key)))
                    throw new InvalidDataException($"{path}: metadata key '{key}' appears twice");
            }
            Metadata = meta;
            Alignment = meta.TryGetValue("general.alignment", out var a) ? Convert.ToUInt32(a) : GgufWriter.DefaultAlignment;
            var infos = new List<GgufTensorInfo>();
            for (ulong i = 0; i < tensorCount; i++)
            {
                string name = ReadString(r);
                var dims = new long[r.ReadUInt32()];
                for (int d = 0; d < dims.Length; d++) dims[d] = (long)r.ReadUInt64();
                infos.Add(new(name, dims, (GgmlType)r.ReadUInt32(), (long)r.ReadUInt64()));
            }
            Tensors = infos;
            dataStart = (r.BaseStream.Position + Alignment - 1) / Alignment * Alignment;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated GGUF header", e);
        }
        foreach (var t in Tensors)
        {
            if (t.Offset % Alignment != 0) throw new InvalidDataException($"{path}: tensor '{t.Name}' offset {t.Offset} is not aligned to {Alignment}");
            long end = dataStart + t.Offset + GgmlQuant.ByteCount(t.Type, t.Count);
            if (end > bytes.Length) throw new InvalidDataException($"{path}: tensor '{t.Name}' ends at byte {end} but the file has {bytes.Length} bytes");
        }
    }

    /// <summary>Absolute file offset of the data section.</summary>
    public long DataStart => dataStart;

    /// <summary>The raw ggml bytes of a tensor.</summary>
    public ReadOnlySpan<byte> RawData(GgufTensorInfo t) => bytes.AsSpan((int)(dataStart + t.Offset), (int)GgmlQuant.ByteCount(t.Type, t.Count));

    /// <summary>A tensor decoded to floats (row-major in torch order).</summary>
    public float[] ReadFloats(string name)
    {
        var t = Tensors.FirstOrDefault(x => x.Name == name) ?? throw new KeyNotFoundException($"GGUF: no tensor '{name}'");
        return GgmlQuant.Decode(t.Type, RawData(t), t.Count);
    }

    static string ReadString(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes(checked((int)r.ReadUInt64())));

    static object ReadValue(BinaryReader r, GgufValueType type, string path, string key) => type switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => r.ReadSByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => r.ReadInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => r.ReadInt32(),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => r.ReadInt64(),
        GgufValueType.Float32 => r.ReadSingle(),
        GgufValueType.Float64 => r.ReadDouble(),
        GgufValueType.Bool => r.ReadByte() switch { 0 => false, 1 => true, var b => throw new InvalidDataException($"{path}: key '{key}': bool byte {b}") },
        GgufValueType.String => ReadString(r),
        GgufValueType.Array => ReadArray(r, path, key),
        _ => throw new InvalidDataException($"{path}: key '{key}' has unknown value type {(uint)type}"),
    };

    static Array ReadArray(BinaryReader r, string path, string key)
    {
        var elementType = (GgufValueType)r.ReadUInt32();
        long n = checked((long)r.ReadUInt64());
        Type clr = elementType switch
        {
            GgufValueType.UInt8 => typeof(byte), GgufValueType.Int8 => typeof(sbyte),
            GgufValueType.UInt16 => typeof(ushort), GgufValueType.Int16 => typeof(short),
            GgufValueType.UInt32 => typeof(uint), GgufValueType.Int32 => typeof(int),
            GgufValueType.UInt64 => typeof(ulong), GgufValueType.Int64 => typeof(long),
            GgufValueType.Float32 => typeof(float), GgufValueType.Float64 => typeof(double),
            GgufValueType.Bool => typeof(bool), GgufValueType.String => typeof(string),
            _ => throw new InvalidDataException($"{path}: key '{key}': arrays of {elementType} are not supported"),
        };
        var result = Array.CreateInstance(clr, n);
        for (long i = 0; i < n; i++) result.SetValue(ReadValue(r, elementType, path, key), i);
        return result;
    }
}
