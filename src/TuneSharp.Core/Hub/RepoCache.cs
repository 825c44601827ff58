namespace TuneSharp.Core.Hub;

/// <summary>
/// One repository's folder in the huggingface_hub cache:
/// <c>blobs/{etag}</c> (content), <c>snapshots/{commit}/{path}</c> (relative symlinks to the blobs, or copies where symlinks
/// fail) and <c>refs/{revision}</c> (the commit hash, no newline). Locks live in <c>{cache}/.locks/{repo folder}/</c>.
/// </summary>
internal sealed class RepoCache(string cacheDir, RepoRef repo)
{
    public string Root { get; } = Path.Combine(cacheDir, repo.CacheFolderName);

    public string BlobPath(string etag) => Path.Combine(Root, "blobs", etag);

    public string SnapshotDir(string commit) => Path.Combine(Root, "snapshots", commit);

    public string PointerPath(string commit, string repoPath) => Path.Combine([SnapshotDir(commit), .. repoPath.Split('/')]);

    public string LockPath(string etag) => Path.Combine(cacheDir, ".locks", repo.CacheFolderName, etag + ".lock");

    string RefPath(string revision) => Path.Combine([Root, "refs", .. revision.Split('/')]);

    /// <summary>The commit a branch or tag pointed to when it was last resolved, or null.</summary>
    public string? ReadRef(string revision)
    {
        string path = RefPath(revision);
        if (!File.Exists(path)) return null;
        string commit = File.ReadAllText(path).Trim();
        return RepoRef.IsCommit(commit) ? commit : null;
    }

    /// <summary>Records <paramref name="revision"/> → <paramref name="commit"/> atomically (temp file + rename).</summary>
    public void WriteRef(string revision, string commit)
    {
        string path = RefPath(revision);
        if (ReadRef(revision) == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(tmp, commit); // huggingface_hub writes the bare hash, without a newline
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The cached snapshot folder for <paramref name="revision"/> (commit hash, or a ref recorded in refs/), or null.</summary>
    public string? FindSnapshot(string revision)
    {
        string? commit = RepoRef.IsCommit(revision) ? revision : ReadRef(revision);
        if (commit == null) return null;
        string dir = SnapshotDir(commit);
        return Directory.Exists(dir) && !HasBrokenEntries(dir) ? dir : null;
    }

    static bool HasBrokenEntries(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Any(f => !IsUsableFile(f));

    /// <summary>True for a regular file, or a symlink whose final target exists (like Python's os.path.exists).</summary>
    public static bool IsUsableFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        return info.LinkTarget == null || info.ResolveLinkTarget(returnFinalTarget: true)?.Exists == true;
    }

    /// <summary>Points <paramref name="pointer"/> at <paramref name="blob"/> with a relative symlink; copies when links fail.</summary>
    public static void Link(string blob, string pointer)
    {
        string dir = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(dir);
        // Build the entry under a temporary name, then rename over the final one: readers never see a half-made file.
        string tmp = pointer + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            File.CreateSymbolicLink(tmp, Path.GetRelativePath(dir, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Copy(blob, tmp, overwrite: true);
        }
        File.Move(tmp, pointer, overwrite: true);
    }
}
