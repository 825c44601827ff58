using System.Buffers.Binary;
using System.Text;

namespace TuneSharp.Core.Tests.SafeTensors;

/// <summary>A unique temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <param name="root">Parent folder; the system temp folder by default.</param>
    public TempDir(string? root = null)
    {
        Path = System.IO.Path.Combine(root ?? System.IO.Path.GetTempPath(), "tunesharp-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Under /dev/shm (tmpfs) when it exists and is writable, else the system temp folder.</summary>
    public static TempDir InMemoryIfPossible()
    {
        if (Directory.Exists("/dev/shm"))
        {
            try { return new TempDir("/dev/shm"); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return new TempDir();
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string[] FileNames() => Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

/// <summary>Builds raw safetensors bytes by hand, for hostile-input tests.</summary>
public static class RawSafeTensors
{
    /// <summary>8-byte LE length + <paramref name="headerJson"/> (UTF-8, unpadded) + <paramref name="dataBytes"/> bytes 0, 1, 2, ...</summary>
    public static byte[] Build(string headerJson, int dataBytes) => Build(Encoding.UTF8.GetBytes(headerJson), dataBytes);

    public static byte[] Build(byte[] header, int dataBytes)
    {
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++) bytes[8 + header.Length + i] = (byte)i;
        return bytes;
    }

    /// <summary>Header text from a JSON-ish string written with single quotes (for readable test cases).</summary>
    public static string J(string singleQuoted) => singleQuoted.Replace('\'', '"');
}
