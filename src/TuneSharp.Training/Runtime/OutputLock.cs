namespace TuneSharp.Training.Runtime;

/// <summary>
/// One run per output folder: an exclusive lock on `{output}/.tunesharp.lock` for the life of the run. The OS releases it
/// when the process dies (even on SIGKILL), so a stale file never blocks a resume.
/// </summary>
public sealed class OutputLock : IDisposable
{
    readonly FileStream _stream;

    OutputLock(FileStream stream) => _stream = stream;

    public static OutputLock Acquire(string outputDir)
    {
        string path = Path.Combine(outputDir, ".tunesharp.lock");
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            using (var w = new StreamWriter(stream, leaveOpen: true)) w.Write(Environment.ProcessId);
            return new OutputLock(stream);
        }
        catch (IOException e)
        {
            string owner = TryRead(path);
            throw new InvalidOperationException(
                $"{outputDir} is in use by another training run{(owner.Length > 0 ? $" (pid {owner})" : "")}: wait for it or choose another output.dir", e);
        }
    }

    static string TryRead(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(s).ReadToEnd().Trim();
        }
        catch (IOException) { return ""; }
    }

    public void Dispose() => _stream.Dispose();
}
