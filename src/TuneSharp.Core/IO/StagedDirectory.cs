namespace TuneSharp.Core.IO;

/// <summary>
/// A folder written atomically: files go into a staging folder beside the target (<see cref="OwnedTemp"/>), and
/// <see cref="Commit"/> renames it into place. A process killed before the commit leaves nothing at the final path, only
/// a stale staging folder that the next <see cref="Create"/> in the same parent removes. Disposing without a commit
/// deletes the staging folder.
/// </summary>
public sealed class StagedDirectory : IDisposable
{
    bool _done;

    StagedDirectory(string finalPath, string path, bool replace)
    {
        FinalPath = finalPath;
        Path = path;
        Replace = replace;
    }

    /// <summary>The staging folder: write the contents here.</summary>
    public string Path { get; }
    /// <summary>Where the folder appears on <see cref="Commit"/>.</summary>
    public string FinalPath { get; }
    /// <summary>Whether an existing folder at <see cref="FinalPath"/> is replaced (otherwise the commit fails).</summary>
    public bool Replace { get; }

    /// <summary>
    /// Starts a staged folder for <paramref name="finalPath"/> (stale staging folders of dead processes beside it are
    /// removed first). Without <paramref name="replace"/>, an existing non-empty folder at the final path is an error.
    /// </summary>
    public static StagedDirectory Create(string finalPath, bool replace)
    {
        string final = System.IO.Path.GetFullPath(System.IO.Path.TrimEndingDirectorySeparator(finalPath));
        if (File.Exists(final)) throw new IOException($"{final} is a file, not a folder");
        if (!replace && IsNonEmptyDirectory(final))
            throw new IOException($"{final} already exists and is not empty");
        string parent = System.IO.Path.GetDirectoryName(final)!;
        Directory.CreateDirectory(parent);
        OwnedTemp.CleanStale(parent);
        string staging = OwnedTemp.PathFor(final);
        Directory.CreateDirectory(staging);
        return new StagedDirectory(final, staging, replace);
    }

    /// <summary>Moves the staging folder to <see cref="FinalPath"/>, replacing an existing folder when allowed.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        string? old = null;
        if (Directory.Exists(FinalPath))
        {
            if (!Replace && IsNonEmptyDirectory(FinalPath))
                throw new IOException($"{FinalPath} appeared while it was being written; not replaced");
            // The old folder steps aside under an owned temp name; if this process dies now, the next run removes it.
            old = OwnedTemp.PathFor(FinalPath);
            Directory.Move(FinalPath, old);
        }
        Directory.Move(Path, FinalPath);
        _done = true;
        if (old != null) Directory.Delete(old, recursive: true);
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        try { Directory.Delete(Path, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static bool IsNonEmptyDirectory(string path) => Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any();
}
