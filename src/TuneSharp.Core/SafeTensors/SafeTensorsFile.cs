using System.IO.MemoryMappedFiles;
using TorchSharp;

namespace TuneSharp.Core.SafeTensors;

/// <summary>
/// One .safetensors file, memory-mapped. The header is parsed and validated by <see cref="Open"/>; tensor data is read
/// lazily. Loaded tensors are copies, so they stay valid after <see cref="Dispose"/> releases the mapping.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly SafeTensorsHeader _header;
    readonly string _fileName;
    byte* _base;

    SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer, SafeTensorsHeader header)
    {
        Path = path;
        _fileName = System.IO.Path.GetFileName(path);
        _map = map;
        _view = view;
        _base = basePointer;
        _header = header;
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>Tensor entries by name; enumeration follows the header order.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors => _header.Tensors;

    /// <summary>The header's <c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    /// <summary>Maps <paramref name="path"/> and validates its header.</summary>
    /// <exception cref="InvalidDataException">the file is not a valid safetensors file; the message names it.</exception>
    public static SafeTensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian");
        string full = System.IO.Path.GetFullPath(path);
        string file = System.IO.Path.GetFileName(full);
        var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            long length = fs.Length;
            SafeTensorsHeader.CheckFileLength(length, file); // rejects files shorter than 8 bytes before mapping
            map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            acquired = true;
            basePointer += view.PointerOffset;
            long n = SafeTensorsHeader.HeaderLength(new ReadOnlySpan<byte>(basePointer, 8), length, file);
            var header = SafeTensorsHeader.Parse(new ReadOnlySpan<byte>(basePointer + 8, (int)n), 8 + n, length - 8 - n, file);
            return new SafeTensorsFile(full, map, view, basePointer, header);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            fs.Dispose(); // owned by the map once created; disposing twice is harmless
            throw;
        }
    }

    /// <summary>The entry for <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">no such tensor.</exception>
    public TensorInfo Info(string name) =>
        _header.Tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{_fileName}: no tensor named '{name}'");

    /// <summary>The tensor's raw little-endian bytes inside the mapping (no copy; invalid after <see cref="Dispose"/>).</summary>
    /// <exception cref="NotSupportedException">the tensor is 2 GiB or larger (use <see cref="Load"/>).</exception>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var info = Info(name);
        if (info.ByteLength > int.MaxValue)
            throw new NotSupportedException($"{_fileName}: tensor '{name}' has {info.ByteLength} bytes, too many for a span; use Load");
        return new ReadOnlySpan<byte>(DataPointer(info), (int)info.ByteLength);
    }

    /// <summary>
    /// A new tensor holding a copy of <paramref name="name"/>, optionally converted to <paramref name="dtype"/>
    /// (with torch's exact <c>to</c>) and moved to <paramref name="device"/>.
    /// </summary>
    public torch.Tensor Load(string name, torch.ScalarType? dtype = null, torch.Device? device = null)
    {
        var info = Info(name);
        using var scope = torch.NewDisposeScope();
        // BOOL is read as bytes and compared with 0, so a byte other than 0/1 cannot make an invalid torch bool.
        var storedAs = info.DType == SafeDType.BOOL ? torch.ScalarType.Byte : SafeDTypes.ToTorch(info.DType);
        var raw = torch.empty(info.Shape, storedAs);
        TensorBytes.CopyInto(raw, DataPointer(info));
        var result = info.DType == SafeDType.BOOL ? raw.ne(0) : raw;
        if (dtype is { } target && target != result.dtype) result = result.to(target);
        if (device is not null && device.type != DeviceType.CPU) result = result.to(device);
        return result.MoveToOuterDisposeScope();
    }

    byte* DataPointer(TensorInfo info)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + _header.DataStart + info.Begin;
    }

    /// <summary>Unmaps the file. Spans from <see cref="GetBytes"/> become invalid; loaded tensors do not.</summary>
    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
