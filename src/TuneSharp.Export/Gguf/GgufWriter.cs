using System.Text;
using TuneSharp.Core.IO;

namespace TuneSharp.Export.Gguf;

/// <summary>
/// Writes a GGUF v3 file (the llama.cpp / Ollama format): header, metadata key-values, tensor infos, then the
/// tensor data, each tensor starting at a multiple of `general.alignment` (default 32) from the data section.
/// Metadata values are typed by their CLR type: byte, sbyte, ushort, short, uint, int, ulong, long, float, double,
/// bool, string, or a one-dimensional array of those.
/// </summary>
public sealed class GgufWriter
{
    /// <summary>Default alignment of the data section and of every tensor in it.</summary>
    public const uint DefaultAlignment = 32;

    readonly List<KeyValuePair<string, object>> kvs = [];
    readonly List<PendingTensor> tensors = [];

    sealed record PendingTensor(string Name, long[] TorchShape, GgmlType Type, byte[] Data);

    /// <summary>Alignment in bytes; written as `general.alignment` when it differs from 32.</summary>
    public uint Alignment { get; init; } = DefaultAlignment;

    /// <summary>Adds a metadata key (unique) with a value of a supported CLR type.</summary>
    public GgufWriter Add(string key, object value)
    {
        if (kvs.Any(kv => kv.Key == key)) throw new ArgumentException($"GGUF metadata key '{key}' added twice");
        _ = TypeOf(value, key);
        kvs.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a tensor; <paramref name="torchShape"/> is in torch order (outermost first), data row-major.</summary>
    public GgufWriter AddTensor(string name, long[] torchShape, GgmlType type, ReadOnlySpan<float> data)
    {
        if (tensors.Any(t => t.Name == name)) throw new ArgumentException($"GGUF tensor '{name}' added twice");
        long count = torchShape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length) throw new ArgumentException($"GGUF tensor '{name}': shape has {count} values but data has {data.Length}");
        var (block, _) = GgmlQuant.Layout(type);
        if (torchShape.Length == 0 || torchShape[^1] % block != 0)
            throw new ArgumentException($"GGUF tensor '{name}': innermost dimension {torchShape.LastOrDefault()} is not a multiple of the {type} block size {block}");
        tensors.Add(new(name, torchShape, type, GgmlQuant.Encode(type, data)));
        return this;
    }

    /// <summary>Writes the file atomically (a temporary file next to it, then a rename).</summary>
    public void Write(string path)
    {
        string tmp = OwnedTemp.PathFor(path); // names this process: a later export removes it if the process died
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Writes the whole file to a stream.</summary>
    public void WriteTo(Stream stream)
    {
        var all = new List<KeyValuePair<string, object>>(kvs);
        if (Alignment != DefaultAlignment && !kvs.Any(kv => kv.Key == "general.alignment")) all.Add(new("general.alignment", Alignment));
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        long fileStart = stream.Position;
        // Header: magic "GGUF", version 3, tensor count, metadata count (little-endian).
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)all.Count);
        foreach (var (key, value) in all)
        {
            WriteString(w, key);
            var type = TypeOf(value, key);
            w.Write((uint)type);
            WriteValue(w, type, value);
        }
        // Tensor infos: dims innermost first (ggml's ne0 = torch's last dim), offsets relative to the data section.
        long offset = 0;
        var offsets = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            WriteString(w, t.Name);
            w.Write((uint)t.TorchShape.Length);
            foreach (long dim in t.TorchShape.Reverse()) w.Write((ulong)dim);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offsets[i] = offset;
            offset = Align(offset + t.Data.Length);
        }
        w.Flush();
        Pad(w, stream.Position - fileStart);
        long dataStart = stream.Position;
        for (int i = 0; i < tensors.Count; i++)
        {
            Pad(w, stream.Position - dataStart);
            w.Write(tensors[i].Data);
        }
        w.Flush();
    }

    long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    void Pad(BinaryWriter w, long position)
    {
        w.Flush();
        for (long p = position; p < Align(position); p++) w.Write((byte)0);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    static GgufValueType TypeOf(object value, string key) => value switch
    {
        byte => GgufValueType.UInt8,
        sbyte => GgufValueType.Int8,
        ushort => GgufValueType.UInt16,
        short => GgufValueType.Int16,
        uint => GgufValueType.UInt32,
        int => GgufValueType.Int32,
        ulong => GgufValueType.UInt64,
        long => GgufValueType.Int64,
        float => GgufValueType.Float32,
        double => GgufValueType.Float64,
        bool => GgufValueType.Bool,
        string => GgufValueType.String,
        Array a when a.Rank == 1 && a.GetType().GetElementType() is { IsArray: false } => GgufValueType.Array,
        _ => throw new ArgumentException($"GGUF metadata key '{key}': unsupported value type {value.GetType().Name}"),
    };

    static GgufValueType ElementTypeOf(Array a, string key) => Type.GetTypeCode(a.GetType().GetElementType()) switch
    {
        TypeCode.Byte => GgufValueType.UInt8,
        TypeCode.SByte => GgufValueType.Int8,
        TypeCode.UInt16 => GgufValueType.UInt16,
        TypeCode.Int16 => GgufValueType.Int16,
        TypeCode.UInt32 => GgufValueType.UInt32,
        TypeCode.Int32 => GgufValueType.Int32,
        TypeCode.UInt64 => GgufValueType.UInt64,
        TypeCode.Int64 => GgufValueType.Int64,
        TypeCode.Single => GgufValueType.Float32,
        TypeCode.Double => GgufValueType.Float64,
        TypeCode.Boolean => GgufValueType.Bool,
        TypeCode.String => GgufValueType.String,
        _ => throw new ArgumentException($"GGUF metadata key '{key}': unsupported array element type {a.GetType().GetElementType()!.Name}"),
    };

    static void WriteValue(BinaryWriter w, GgufValueType type, object value)
    {
        switch (value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case float v: w.Write(v); break;
            case double v: w.Write(v); break;
            case bool v: w.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(w, v); break;
            case Array a:
                // Array: element type, count, then the elements without their own type tags.
                var elementType = ElementTypeOf(a, "");
                w.Write((uint)elementType);
                w.Write((ulong)a.Length);
                foreach (object e in a) WriteValue(w, elementType, e);
                break;
            default: throw new ArgumentException($"unsupported GGUF value of type {type}");
        }
    }
}
