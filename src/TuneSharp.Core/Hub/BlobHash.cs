using System.Security.Cryptography;
using System.Text;

namespace TuneSharp.Core.Hub;

/// <summary>
/// Blob names and their verification. The hub's ETag of an LFS file is the sha256 of its content; the ETag of a file
/// kept in git is its git blob sha1 (sha1 of <c>"blob {length}\0"</c> followed by the content).
/// </summary>
internal static class BlobHash
{
    /// <summary>Strips the weak marker <c>W/</c> and the quotes: <c>W/"abc"</c> → <c>abc</c>.</summary>
    public static string NormalizeEtag(string etag)
    {
        string e = etag.Trim();
        if (e.StartsWith("W/", StringComparison.Ordinal)) e = e[2..];
        return e.Trim('"');
    }

    /// <summary>The algorithm an etag implies: "sha256" (64 hex), "git-sha1" (40 hex) or null (not a content hash).</summary>
    public static string? KindOf(string etag) =>
        IsHex(etag, 64) ? "sha256" : IsHex(etag, 40) ? "git-sha1" : null;

    /// <summary>Hashes <paramref name="path"/> with the algorithm <paramref name="kind"/> (see <see cref="KindOf"/>).</summary>
    public static async Task<string> ComputeAsync(string path, string kind, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        using var hash = IncrementalHash.CreateHash(kind == "sha256" ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA1);
        if (kind == "git-sha1") hash.AppendData(Encoding.ASCII.GetBytes($"blob {stream.Length}\0"));
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0) hash.AppendData(buffer, 0, n);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Git's blob id of <paramref name="content"/>.</summary>
    public static string GitBlobSha1(ReadOnlySpan<byte> content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        hash.AppendData(Encoding.ASCII.GetBytes($"blob {content.Length}\0"));
        hash.AppendData(content);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static bool IsHex(string s, int length) => s.Length == length && s.All(char.IsAsciiHexDigitLower);
}
