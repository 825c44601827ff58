namespace TuneSharp.Core.IO;

/// <summary>Whole-file writes that never leave a half-written file: write a temp file beside it, then rename over it.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));

    public static void Write(string path, Action<string> writeTemp)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = OwnedTemp.PathFor(path); // names this process, so OwnedTemp.CleanStale can remove it if the process dies
        try
        {
            writeTemp(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}
