using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;

namespace TuneSharp.Training.Runtime;

/// <summary>The process holding an output folder's lock, as recorded in the lock file.</summary>
public sealed record LockOwner([property: JsonPropertyName("pid")] int Pid, [property: JsonPropertyName("host")] string Host)
{
    public override string ToString() => $"pid {Pid} on host {Host}";
}

/// <summary>
/// One run per output folder: an exclusive lock on `{output}/.tunesharp.lock` for the life of the run. The file records
/// the owner (pid and host, JSON) so that a second run can say who holds the folder. The OS releases the lock when the
/// process dies (even on SIGKILL), so a stale file never blocks a resume.
/// </summary>
public sealed class OutputLock : IDisposable
{
    public const string FileName = ".tunesharp.lock";

    readonly FileStream _stream;

    OutputLock(FileStream stream) => _stream = stream;

    public static OutputLock Acquire(string outputDir)
    {
        string path = Path.Combine(outputDir, FileName);
        FileStream stream;
        try
        {
            // FileShare.None = flock(LOCK_EX | LOCK_NB) on Unix: fails at once while another process holds it.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            string owner = ReadOwner(path)?.ToString() ?? "owner not recorded yet";
            throw new InvalidOperationException(
                $"{outputDir} is in use by another training run ({owner}): wait for it or choose another output.dir", e);
        }
        stream.SetLength(0);
        JsonSerializer.Serialize(stream, new LockOwner(Environment.ProcessId, Environment.MachineName));
        stream.Flush();
        return new OutputLock(stream);
    }

    /// <summary>
    /// The owner recorded in a lock file, or null. Read through open(2): a .NET FileStream would ask for a shared lock
    /// (flock LOCK_SH), which the owner's exclusive lock refuses. On Windows a locked file cannot be read at all.
    /// </summary>
    public static LockOwner? ReadOwner(string lockFile)
    {
        if (OperatingSystem.IsWindows()) return null;
        int fd = open(lockFile, O_RDONLY);
        if (fd < 0) return null;
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        byte[] buffer = new byte[4096];
        int n = RandomAccess.Read(handle, buffer, 0);
        try { return JsonSerializer.Deserialize<LockOwner>(buffer.AsSpan(0, n)); }
        catch (JsonException) { return null; } // empty (the owner is between open and write) or not ours
    }

    const int O_RDONLY = 0;

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    public void Dispose() => _stream.Dispose();
}
