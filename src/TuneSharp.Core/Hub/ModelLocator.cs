namespace TuneSharp.Core.Hub;

/// <summary>Turns the <c>model:</c> setting (a local folder or <c>org/name[@revision]</c>) into a local model folder.</summary>
public static class ModelLocator
{
    /// <summary>
    /// A local directory → returned unchanged (must exist). Otherwise "org/name" or "org/name@revision" → snapshot dir,
    /// downloaded into the shared cache when needed (see <see cref="HubClient.DownloadSnapshotAsync"/>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">A path-like value (absolute, ./, ~/, several '/') that does not exist.</exception>
    /// <exception cref="ArgumentException">Neither an existing folder nor a valid repo id.</exception>
    /// <exception cref="HubException">Access, not found, offline cache miss, hub unreachable without a cached copy.</exception>
    public static async Task<string> ResolveAsync(string modelOrPath, HubOptions? options = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelOrPath);
        if (Directory.Exists(modelOrPath)) return modelOrPath;
        if (LooksLikeLocalPath(modelOrPath))
            throw new DirectoryNotFoundException($"model directory not found: {Path.GetFullPath(modelOrPath)}");

        RepoRef repo;
        try { repo = RepoRef.Parse(modelOrPath); }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"'{modelOrPath}' is neither an existing directory nor a hub repo id: {e.Message}", nameof(modelOrPath), e);
        }
        using var client = new HubClient(options ?? HubOptions.FromEnvironment());
        return await client.DownloadSnapshotAsync(repo, allowPatterns: null, progress, ct);
    }

    /// <summary>True for a syntactically valid <c>org/name</c> or <c>org/name@revision</c> (the file system is not consulted).</summary>
    public static bool LooksLikeRepoId(string s)
    {
        if (string.IsNullOrWhiteSpace(s) || LooksLikeLocalPath(s)) return false;
        try { RepoRef.Parse(s); return true; }
        catch (ArgumentException) { return false; }
    }

    // Only "org/name[@rev]" is a repo id; anything rooted, dotted, tilde'd or deeper is meant as a path.
    static bool LooksLikeLocalPath(string s)
    {
        int at = s.IndexOf('@');
        string id = at < 0 ? s : s[..at];
        return Path.IsPathRooted(id) || id.StartsWith('.') || id.StartsWith('~') || id.Contains('\\') || id.Count(c => c == '/') > 1;
    }
}
