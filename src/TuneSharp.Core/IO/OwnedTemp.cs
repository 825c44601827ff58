using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TuneSharp.Core.IO;

/// <summary>
/// Temporary paths that name the process writing them (<c>.{name}.tmp-{pid}-{guid}</c>, or <c>.old-</c> for a folder
/// set aside by <see cref="AtomicDirectory"/>, beside the final path), so a later run can remove the ones left by a
/// process that died (kill -9, power loss) without touching those of a process that is still writing.
/// </summary>
public static partial class OwnedTemp
{
    /// <summary>A fresh temporary path beside <paramref name="finalPath"/>, owned by this process.</summary>
    public static string PathFor(string finalPath, string kind = "tmp")
    {
        string full = Path.GetFullPath(Path.TrimEndingDirectorySeparator(finalPath));
        string name = $".{Path.GetFileName(full)}.{kind}-{Environment.ProcessId}-{Guid.NewGuid():N}";
        return Path.Combine(Path.GetDirectoryName(full)!, name);
    }

    /// <summary>
    /// Deletes the temporary files and folders in <paramref name="directory"/> whose owner process no longer runs;
    /// returns their paths. A missing directory has none. Entries that cannot be deleted are left alone.
    /// </summary>
    public static IReadOnlyList<string> CleanStale(string directory)
    {
        var removed = new List<string>();
        if (!Directory.Exists(directory)) return removed;
        foreach (string path in Directory.EnumerateFileSystemEntries(directory, ".*-*"))
        {
            var m = TempName().Match(Path.GetFileName(path));
            if (!m.Success || IsRunning(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))) continue;
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                else File.Delete(path);
                removed.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return removed;
    }

    /// <summary>Whether a process with this id runs (a reused id counts as running: its temp is kept, never wrongly deleted).</summary>
    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^\..+\.(?:tmp|old)-(\d{1,9})-[0-9a-f]{32}$")]
    private static partial Regex TempName();
}
