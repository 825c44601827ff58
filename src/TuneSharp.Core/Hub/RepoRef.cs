using System.Text.RegularExpressions;

namespace TuneSharp.Core.Hub;

/// <summary>A model repository on the hub and a revision (branch, tag or 40-hex commit): <c>org/name[@revision]</c>.</summary>
public sealed partial record RepoRef(string RepoId, string Revision)
{
    /// <summary>Revision used when none is given.</summary>
    public const string DefaultRevision = "main";

    /// <summary>Cache folder name, as huggingface_hub spells it: <c>models--org--name</c>.</summary>
    public string CacheFolderName => "models--" + RepoId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>True when the revision is a full commit hash (then no ref file is kept for it).</summary>
    public bool IsCommitHash => IsCommit(Revision);

    /// <summary>Parses <c>org/name</c> or <c>org/name@revision</c>; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static RepoRef Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int at = spec.IndexOf('@');
        string id = at < 0 ? spec : spec[..at];
        string revision = at < 0 ? DefaultRevision : spec[(at + 1)..];
        if (ValidateRepoId(id) is { } problem)
            throw new ArgumentException($"invalid Hugging Face repo id '{spec}': {problem} (expected org/name[@revision])", nameof(spec));
        if (ValidateRevision(revision) is { } revProblem)
            throw new ArgumentException($"invalid revision in '{spec}': {revProblem}", nameof(spec));
        return new RepoRef(id, revision);
    }

    /// <summary>Why <paramref name="id"/> is not a valid <c>org/name</c> repo id, or null when it is.</summary>
    public static string? ValidateRepoId(string id)
    {
        // Same rules as huggingface_hub's validate_repo_id, restricted to the namespaced form.
        string[] parts = id.Split('/');
        if (parts.Length != 2) return "it must have exactly one '/' between organisation and name";
        if (id.Length > 96) return "it is longer than 96 characters";
        foreach (string p in parts)
            if (!PartRegex().IsMatch(p)) return $"'{p}' may only contain letters, digits, '-', '_' and '.', and must not start or end with '-' or '.'";
        if (id.Contains("--", StringComparison.Ordinal) || id.Contains("..", StringComparison.Ordinal)) return "'--' and '..' are not allowed";
        if (id.EndsWith(".git", StringComparison.Ordinal)) return "it must not end with '.git'";
        return null;
    }

    static string? ValidateRevision(string revision)
    {
        if (revision.Length == 0) return "it is empty";
        // Refs become paths under refs/: keep them relative and inside the cache.
        if (revision.StartsWith('/') || revision.Contains('\\') || revision.Split('/').Any(s => s is "" or "." or ".."))
            return $"'{revision}' is not a valid git ref";
        if (revision.Any(char.IsWhiteSpace) || revision.Contains('@')) return $"'{revision}' is not a valid git ref";
        return null;
    }

    internal static bool IsCommit(string s) => CommitRegex().IsMatch(s);

    /// <inheritdoc />
    public override string ToString() => $"{RepoId}@{Revision}";

    [GeneratedRegex(@"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?$")]
    private static partial Regex PartRegex();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitRegex();
}
