namespace TuneSharp.Core.IO;

/// <summary>
/// Whole-folder writes that never leave a partial folder at the final path: the content is written into a hidden
/// temporary folder beside it (<c>.{name}.tmp-{pid}-{guid}</c>) and renamed into place when complete. An existing folder
/// is first renamed aside (<c>.{name}.old-{pid}-{guid}</c>) and deleted after the swap, so readers see the old folder,
/// briefly nothing, then the new one; never a mix. The names carry the writing process, so
/// <see cref="OwnedTemp.CleanStale"/> can remove those of a killed writer without a lock.
/// </summary>
public static class AtomicDirectory
{
    public static void Write(string path, Action<string> writeTemp)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        string temp = OwnedTemp.PathFor(full);
        Directory.CreateDirectory(temp);
        try
        {
            writeTemp(temp);
            string? old = null;
            if (Directory.Exists(full))
            {
                old = OwnedTemp.PathFor(full, "old");
                Directory.Move(full, old);
            }
            Directory.Move(temp, full);
            if (old != null) TryDelete(old);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>True for the temporary and set-aside folders <see cref="Write"/> creates (left behind by a killed process).</summary>
    public static bool IsLeftover(string name) =>
        name.StartsWith('.') && (name.Contains(".tmp-", StringComparison.Ordinal) || name.Contains(".old-", StringComparison.Ordinal));

    /// <summary>Removes leftovers of killed writers in <paramref name="parent"/>; call only when no writer can be
    /// active there (e.g. while holding the folder's lock).</summary>
    public static void RemoveLeftovers(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.EnumerateDirectories(parent).Where(d => IsLeftover(Path.GetFileName(d)))) TryDelete(dir);
        foreach (var file in Directory.EnumerateFiles(parent).Where(f => IsLeftover(Path.GetFileName(f))))
            try { File.Delete(file); } catch (IOException) { }
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
