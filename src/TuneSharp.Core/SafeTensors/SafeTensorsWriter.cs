using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using TorchSharp;

namespace TuneSharp.Core.SafeTensors;

/// <summary>
/// Writes safetensors files. Every file is written to <c>path + ".tmp-&lt;guid&gt;"</c>, flushed, then renamed over
/// <c>path</c>, so readers see either the old or the new file, never a partial one. Tensors are made contiguous and
/// copied CPU-side; the caller keeps ownership of them. Within a file, tensors are ordered by element size (largest
/// first, otherwise as given) so each one starts aligned to its element size. A <c>format: pt</c> metadata entry is
/// added unless the caller gives <c>format</c> (Hugging Face transformers refuses files with metadata but no format).
/// </summary>
public static partial class SafeTensorsWriter
{
    /// <summary>Writes one file atomically.</summary>
    /// <exception cref="ArgumentException">duplicate or reserved names.</exception>
    /// <exception cref="NotSupportedException">a tensor type safetensors cannot store.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        WriteFile(Path.GetFullPath(path), Prepare(tensors), metadata);
    }

    /// <summary>
    /// Writes <c>{baseName}.safetensors</c> when everything fits in <paramref name="maxShardBytes"/>; otherwise
    /// <c>{baseName}-00001-of-0000N.safetensors</c>... plus <c>{baseName}.safetensors.index.json</c> (Hugging Face
    /// layout, <c>metadata.total_size</c>), the index last. A tensor larger than the limit gets a shard of its own.
    /// Files of an earlier write with the same base name that would shadow this one (a stale index, single file or
    /// shards of another count) are deleted afterwards. Returns the files written, index last.
    /// </summary>
    public static IReadOnlyList<string> WriteSharded(string directory, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors,
        long maxShardBytes = 5_000_000_000, string baseName = "model", IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        if (baseName.Length == 0 || baseName.IndexOfAny(['/', '\\', '*', '?']) >= 0 || baseName is "." or "..")
            throw new ArgumentException($"base name '{baseName}' must be a plain file name", nameof(baseName));
        var entries = Prepare(tensors);
        string dir = Path.GetFullPath(directory);
        Directory.CreateDirectory(dir);

        // Greedy split in the given order: a new shard starts when the next tensor would overflow the current one.
        var shards = new List<List<Entry>> { new() };
        long shardBytes = 0;
        foreach (var e in entries)
        {
            if (shards[^1].Count > 0 && shardBytes + e.Bytes > maxShardBytes)
            {
                shards.Add([]);
                shardBytes = 0;
            }
            shards[^1].Add(e);
            shardBytes += e.Bytes;
        }

        string single = Path.Combine(dir, baseName + ".safetensors");
        string index = single + ".index.json";
        var written = new List<string>();
        if (shards.Count == 1)
        {
            WriteFile(single, shards[0], metadata);
            written.Add(single);
        }
        else
        {
            var weightMap = new List<KeyValuePair<string, string>>();
            for (int i = 0; i < shards.Count; i++)
            {
                string name = $"{baseName}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                WriteFile(Path.Combine(dir, name), shards[i], metadata);
                written.Add(Path.Combine(dir, name));
                weightMap.AddRange(shards[i].Select(e => KeyValuePair.Create(e.Name, name)));
            }
            byte[] json = IndexJson(entries.Sum(e => e.Bytes), weightMap);
            AtomicWrite(index, s => s.Write(json));
            written.Add(index);
        }
        RemoveStale(dir, baseName, written);
        return written;
    }

    /// <summary>A tensor to write, with its on-disk description computed once.</summary>
    sealed record Entry(string Name, torch.Tensor Tensor, SafeDType DType, long[] Shape, long Bytes);

    static List<Entry> Prepare(IEnumerable<KeyValuePair<string, torch.Tensor>> tensors)
    {
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(name, "tensor name");
            ArgumentNullException.ThrowIfNull(tensor, $"tensor '{name}'");
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor");
            if (!names.Add(name)) throw new ArgumentException($"tensor '{name}' is given twice");
            var dtype = SafeDTypes.FromTorch(tensor.dtype);
            long[] shape = tensor.shape;
            entries.Add(new Entry(name, tensor, dtype, shape, tensor.numel() * SafeDTypes.ElementSize(dtype)));
        }
        return entries;
    }

    static void WriteFile(string path, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        // Largest elements first (stable), so every tensor starts at a multiple of its element size.
        var ordered = entries.OrderByDescending(e => SafeDTypes.ElementSize(e.DType)).ToList();
        byte[] header = HeaderJson(ordered, metadata);
        AtomicWrite(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var e in ordered)
            {
                using var scope = torch.NewDisposeScope();
                var cpu = e.Tensor.detach();
                if (cpu.device_type != DeviceType.CPU) cpu = cpu.cpu();
                TensorBytes.WriteTo(cpu.contiguous(), stream);
            }
        });
    }

    static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static byte[] HeaderJson(IReadOnlyList<Entry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            if (metadata == null || !metadata.ContainsKey("format")) json.WriteString("format", "pt");
            foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
                json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var e in ordered)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", SafeDTypes.Name(e.DType));
                json.WriteStartArray("shape");
                foreach (long d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.Bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.Bytes;
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    static byte[] IndexJson(long totalSize, IEnumerable<KeyValuePair<string, string>> weightMap)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions with { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalSize);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (name, file) in weightMap) json.WriteString(name, file);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Writes a temporary file beside <paramref name="path"/>, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    static void AtomicWrite(string path, Action<Stream> write)
    {
        string temp = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    [GeneratedRegex(@"^(?<base>.+)-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex ShardName();

    /// <summary>Deletes files of the same base name that a reader could pick instead of what was just written.</summary>
    static void RemoveStale(string dir, string baseName, IReadOnlyList<string> written)
    {
        var keep = new HashSet<string>(written, StringComparer.Ordinal);
        var candidates = Directory.EnumerateFiles(dir, baseName + "*.safetensors*")
            .Where(f =>
            {
                string name = Path.GetFileName(f);
                return name == baseName + ".safetensors" || name == baseName + ".safetensors.index.json" ||
                       ShardName().Match(name) is { Success: true } m && m.Groups["base"].Value == baseName;
            });
        foreach (string stale in candidates.Where(f => !keep.Contains(f)).ToList())
            File.Delete(stale);
    }
}
