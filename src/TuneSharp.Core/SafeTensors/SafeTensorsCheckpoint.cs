using System.Text.Json;
using TorchSharp;

namespace TuneSharp.Core.SafeTensors;

/// <summary>
/// A checkpoint: one .safetensors file, or a folder holding <c>model.safetensors.index.json</c> (sharded, preferred)
/// or <c>model.safetensors</c>. <see cref="Open"/> reads and validates every shard header and checks that each index
/// entry exists in its shard; the shards are memory-mapped lazily, on the first load from each.
/// Tensors present in a shard but absent from the index are ignored, as by Hugging Face loaders.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    const string IndexName = "model.safetensors.index.json";
    const string SingleName = "model.safetensors";

    readonly OrderedDictionary<string, (string Shard, TensorInfo Info)> _entries;
    readonly Dictionary<string, SafeTensorsFile> _open = new(StringComparer.Ordinal);
    readonly string _label;
    bool _disposed;

    SafeTensorsCheckpoint(string label, OrderedDictionary<string, (string, TensorInfo)> entries)
    {
        _label = label;
        _entries = entries;
    }

    /// <summary>Tensor names, in index (or header) order.</summary>
    public IReadOnlyCollection<string> Names => _entries.Keys;

    /// <summary>Opens a .safetensors file, an index .json file, or a folder (index first, then model.safetensors).</summary>
    /// <exception cref="FileNotFoundException">nothing loadable at the path.</exception>
    /// <exception cref="InvalidDataException">a malformed index or shard, or an index entry missing from its shard.</exception>
    public static SafeTensorsCheckpoint Open(string fileOrDirectory)
    {
        string full = Path.GetFullPath(fileOrDirectory);
        if (File.Exists(full))
            return full.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? FromIndex(full) : FromFile(full);
        if (Directory.Exists(full))
        {
            if (File.Exists(Path.Combine(full, IndexName))) return FromIndex(Path.Combine(full, IndexName));
            if (File.Exists(Path.Combine(full, SingleName))) return FromFile(Path.Combine(full, SingleName));
            throw new FileNotFoundException($"{full}: neither {IndexName} nor {SingleName} found", full);
        }
        throw new FileNotFoundException($"{full}: no such file or directory", full);
    }

    static SafeTensorsCheckpoint FromFile(string path)
    {
        var header = SafeTensorsHeader.Read(path);
        var entries = new OrderedDictionary<string, (string, TensorInfo)>(StringComparer.Ordinal);
        foreach (var (name, info) in header.Tensors) entries.Add(name, (path, info));
        return new SafeTensorsCheckpoint(Path.GetFileName(path), entries);
    }

    static SafeTensorsCheckpoint FromIndex(string indexPath)
    {
        string file = Path.GetFileName(indexPath);
        string dir = Path.GetDirectoryName(indexPath)!;
        var weightMap = ReadWeightMap(File.ReadAllBytes(indexPath), file);
        var headers = new Dictionary<string, SafeTensorsHeader>(StringComparer.Ordinal);
        var entries = new OrderedDictionary<string, (string, TensorInfo)>(StringComparer.Ordinal);
        foreach (var (name, shard) in weightMap)
        {
            string shardPath = Path.GetFullPath(Path.Combine(dir, shard));
            if (!headers.TryGetValue(shardPath, out var header))
            {
                if (Path.IsPathRooted(shard) || !shardPath.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new InvalidDataException($"{file}: tensor '{name}' maps to '{shard}', which is outside the checkpoint folder");
                if (!File.Exists(shardPath))
                    throw new InvalidDataException($"{file}: tensor '{name}' maps to shard '{shard}', which does not exist in {dir}");
                header = SafeTensorsHeader.Read(shardPath);
                headers.Add(shardPath, header);
            }
            if (!header.Tensors.TryGetValue(name, out var info))
                throw new InvalidDataException($"{file}: tensor '{name}' maps to shard '{shard}', which has no such tensor");
            entries.Add(name, (shardPath, info));
        }
        return new SafeTensorsCheckpoint(file, entries);
    }

    /// <summary>The <c>weight_map</c> of an index, rejecting duplicate names; other top-level keys are ignored.</summary>
    static IReadOnlyDictionary<string, string> ReadWeightMap(byte[] json, string file)
    {
        IReadOnlyDictionary<string, string>? map = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new InvalidDataException($"{file}: index is not a JSON object");
            while (SafeTensorsHeader.ReadOrFail(ref reader, file) != JsonTokenType.EndObject)
            {
                string key = reader.GetString()!;
                SafeTensorsHeader.ReadOrFail(ref reader, file);
                if (key == "weight_map")
                {
                    if (map != null) throw new InvalidDataException($"{file}: duplicate key 'weight_map'");
                    map = SafeTensorsHeader.ReadStringMap(ref reader, file, "weight_map");
                }
                else reader.Skip();
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: index is not valid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{file}: index is not valid UTF-8 JSON ({e.Message})", e);
        }
        return map ?? throw new InvalidDataException($"{file}: index has no 'weight_map'");
    }

    /// <summary>True when the checkpoint has a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The header entry of <paramref name="name"/> (offsets are relative to its shard's data section).</summary>
    /// <exception cref="KeyNotFoundException">no such tensor.</exception>
    public TensorInfo Info(string name) => Entry(name).Info;

    /// <summary>A new tensor holding a copy of <paramref name="name"/>; see <see cref="SafeTensorsFile.Load"/>.</summary>
    public torch.Tensor Load(string name, torch.ScalarType? dtype = null, torch.Device? device = null)
    {
        var (shard, _) = Entry(name);
        SafeTensorsFile file;
        lock (_open)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_open.TryGetValue(shard, out file!))
            {
                file = SafeTensorsFile.Open(shard);
                _open.Add(shard, file);
            }
        }
        return file.Load(name, dtype, device);
    }

    (string Shard, TensorInfo Info) Entry(string name) =>
        _entries.TryGetValue(name, out var entry)
            ? entry
            : throw new KeyNotFoundException($"{_label}: no tensor named '{name}'");

    /// <summary>Unmaps every shard opened so far.</summary>
    public void Dispose()
    {
        lock (_open)
        {
            _disposed = true;
            foreach (var file in _open.Values) file.Dispose();
            _open.Clear();
        }
    }
}
