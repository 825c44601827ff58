using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text.Json;

namespace TuneSharp.Core.SafeTensors;

/// <summary>A parsed and validated safetensors header.</summary>
/// <param name="Tensors">Entries in header order.</param>
/// <param name="Metadata">The <c>__metadata__</c> map (empty when absent).</param>
/// <param name="DataStart">File offset of the data section (8 + header length).</param>
/// <param name="DataLength">Bytes in the data section.</param>
internal sealed record SafeTensorsHeader(
    IReadOnlyDictionary<string, TensorInfo> Tensors,
    IReadOnlyDictionary<string, string> Metadata,
    long DataStart,
    long DataLength)
{
    /// <summary>Largest accepted JSON header, as in the reference implementation.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Tensors of higher rank are rejected (no real checkpoint comes close).</summary>
    public const int MaxRank = 64;

    const string MetadataKey = "__metadata__";

    /// <summary>Reads and validates the header of a file without mapping it.</summary>
    public static SafeTensorsHeader Read(string path)
    {
        string file = Path.GetFileName(path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        Span<byte> prefix = stackalloc byte[8];
        int got = fs.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        long n = HeaderLength(prefix[..got], fs.Length, file);
        byte[] json = new byte[n];
        fs.ReadExactly(json);
        return Parse(json, 8 + n, fs.Length - 8 - n, file);
    }

    /// <summary>Rejects files too short to hold the 8-byte header length.</summary>
    public static void CheckFileLength(long fileLength, string file)
    {
        if (fileLength < 8) throw Bad(file, $"file has {fileLength} bytes, fewer than the 8-byte header length");
    }

    /// <summary>Validates the 8-byte little-endian header length against the file length.</summary>
    public static long HeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string file)
    {
        CheckFileLength(Math.Min(fileLength, prefix.Length), file);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderBytes)
            throw Bad(file, $"header length {n} exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)n > fileLength - 8)
            throw Bad(file, $"header length {n} goes beyond the end of the file ({fileLength} bytes)");
        return (long)n;
    }

    /// <summary>Parses the JSON header and checks every entry against a data section of <paramref name="dataLength"/> bytes.</summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataStart, long dataLength, string file)
    {
        var tensors = new OrderedDictionary<string, TensorInfo>(StringComparer.Ordinal);
        IReadOnlyDictionary<string, string> metadata = ReadOnlyDictionary<string, string>.Empty;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Bad(file, "header is not a JSON object");
            bool sawMetadata = false;
            while (ReadOrFail(ref reader, file) != JsonTokenType.EndObject)
            {
                string key = reader.GetString()!;
                ReadOrFail(ref reader, file);
                if (key == MetadataKey)
                {
                    if (sawMetadata) throw Bad(file, $"duplicate key '{MetadataKey}' in the header");
                    sawMetadata = true;
                    if (reader.TokenType != JsonTokenType.Null)
                        metadata = ReadStringMap(ref reader, file, MetadataKey);
                }
                else
                {
                    if (tensors.ContainsKey(key)) throw Bad(file, $"duplicate tensor '{key}' in the header");
                    tensors.Add(key, ReadTensor(ref reader, file, key));
                }
            }
            // Only whitespace (the writers' padding) may follow the object; the reader throws on anything else.
            if (reader.Read()) throw Bad(file, "unexpected content after the header object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: header is not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader reports invalid UTF-8 inside strings this way.
            throw new InvalidDataException($"{file}: header is not valid UTF-8 JSON ({e.Message})", e);
        }
        CheckLayout(tensors.Values, dataLength, file);
        return new SafeTensorsHeader(new ReadOnlyDictionary<string, TensorInfo>(tensors), metadata, dataStart, dataLength);
    }

    /// <summary>Reads a JSON object whose values are all strings (rejecting duplicate keys); the reader is on its start.</summary>
    internal static IReadOnlyDictionary<string, string> ReadStringMap(ref Utf8JsonReader reader, string file, string what)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw Bad(file, $"'{what}' is not a JSON object");
        var map = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        while (ReadOrFail(ref reader, file) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            if (ReadOrFail(ref reader, file) != JsonTokenType.String)
                throw Bad(file, $"'{what}' value for key '{key}' is not a string");
            if (!map.TryAdd(key, reader.GetString()!)) throw Bad(file, $"duplicate key '{key}' in '{what}'");
        }
        return new ReadOnlyDictionary<string, string>(map);
    }

    internal static JsonTokenType ReadOrFail(ref Utf8JsonReader reader, string file)
    {
        // With the whole input given, Read() only returns false at the true end, which a caller inside an object never expects.
        if (!reader.Read()) throw Bad(file, "header JSON ends early");
        return reader.TokenType;
    }

    static TensorInfo ReadTensor(ref Utf8JsonReader reader, string file, string name)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw Bad(file, $"tensor '{name}': entry is not a JSON object");
        string? dtype = null;
        long[]? shape = null, offsets = null;
        while (ReadOrFail(ref reader, file) != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            ReadOrFail(ref reader, file);
            switch (field)
            {
                case "dtype":
                    if (dtype != null) throw Bad(file, $"tensor '{name}': duplicate field 'dtype'");
                    if (reader.TokenType != JsonTokenType.String) throw Bad(file, $"tensor '{name}': 'dtype' is not a string");
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    if (shape != null) throw Bad(file, $"tensor '{name}': duplicate field 'shape'");
                    shape = ReadLongArray(ref reader, file, name, field);
                    break;
                case "data_offsets":
                    if (offsets != null) throw Bad(file, $"tensor '{name}': duplicate field 'data_offsets'");
                    offsets = ReadLongArray(ref reader, file, name, field);
                    break;
                default:
                    reader.Skip(); // unknown fields are ignored, as by the reference reader
                    break;
            }
        }
        if (dtype == null) throw Bad(file, $"tensor '{name}' has no 'dtype'");
        if (shape == null) throw Bad(file, $"tensor '{name}' has no 'shape'");
        if (offsets == null) throw Bad(file, $"tensor '{name}' has no 'data_offsets'");
        if (offsets.Length != 2)
            throw Bad(file, $"tensor '{name}': 'data_offsets' has {offsets.Length} values instead of [begin, end]");
        if (shape.Length > MaxRank) throw Bad(file, $"tensor '{name}' has rank {shape.Length}, above the limit of {MaxRank}");
        return new TensorInfo(name, SafeDTypes.Parse(dtype, file, name), shape, offsets[0], offsets[1]);
    }

    static long[] ReadLongArray(ref Utf8JsonReader reader, string file, string name, string field)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw Bad(file, $"tensor '{name}': '{field}' is not an array");
        var values = new List<long>();
        while (ReadOrFail(ref reader, file) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0)
                throw Bad(file, $"tensor '{name}': '{field}' holds {Describe(ref reader)}, not a non-negative integer");
            if (values.Count > MaxRank) throw Bad(file, $"tensor '{name}': '{field}' has more than {MaxRank} values");
            values.Add(v);
        }
        return [.. values];
    }

    static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null =>
            System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.String => "a string",
        _ => "a " + reader.TokenType.ToString().ToLowerInvariant(),
    };

    /// <summary>Sizes, bounds, and exact tiling of the data section: no overlap, no gap, no trailing bytes.</summary>
    static void CheckLayout(IEnumerable<TensorInfo> tensors, long dataLength, string file)
    {
        foreach (var t in tensors)
        {
            if (t.End < t.Begin)
                throw Bad(file, $"tensor '{t.Name}' ends at byte {t.End} before it begins at byte {t.Begin}");
            if (t.End > dataLength)
                throw Bad(file, $"tensor '{t.Name}' ends at byte {t.End} but the data section has {dataLength} bytes");
            long expected;
            try
            {
                expected = checked(t.ElementCount * SafeDTypes.ElementSize(t.DType));
                // torch also multiplies the non-zero dims of an empty tensor: keep that product in range too.
                _ = checked(t.Shape.Aggregate(1L, (p, d) => checked(p * Math.Max(d, 1))) * SafeDTypes.ElementSize(t.DType));
            }
            catch (OverflowException) { throw Bad(file, $"tensor '{t.Name}': shape {t.ShapeText} is too large"); }
            if (t.ByteLength != expected)
                throw Bad(file, $"tensor '{t.Name}' has {t.ByteLength} bytes but shape {t.ShapeText} of {t.DType} needs {expected}");
        }
        long covered = 0;
        TensorInfo? previous = null;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < covered)
                throw Bad(file, $"tensor '{t.Name}' (bytes {t.Begin}..{t.End}) overlaps tensor '{previous!.Name}' (bytes {previous.Begin}..{previous.End})");
            if (t.Begin > covered)
                throw Bad(file, $"tensor '{t.Name}' begins at byte {t.Begin}, leaving bytes {covered}..{t.Begin} of the data section unused");
            covered = t.End;
            previous = t;
        }
        if (covered != dataLength)
            throw Bad(file, $"the data section has {dataLength} bytes but the tensors cover only {covered}");
    }

    static InvalidDataException Bad(string file, string message) => new($"{file}: {message}");
}
