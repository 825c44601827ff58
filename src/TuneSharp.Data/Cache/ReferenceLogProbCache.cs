using System.Security.Cryptography;

namespace TuneSharp.Data.Cache;

/// <summary>
/// On-disk cache of a reference model's per-sequence log-probs of a tokenized pair set (DPO
/// <c>precompute_ref_log_probs</c>), beside the tokenized data: one file per key (<c>&lt;dir&gt;/&lt;key&gt;.tsrl</c>),
/// written atomically and carrying a SHA-256 of its content. A corrupt, truncated or foreign file, or one with another
/// count, is ignored (the values are computed again), never a crash.
/// </summary>
/// <remarks>Format (little-endian): magic "TSRLv001", int32 count, count float64 values, 32-byte SHA-256 of the preceding bytes.</remarks>
public sealed class ReferenceLogProbCache(string directory)
{
    static readonly byte[] Magic = "TSRLv001"u8.ToArray();

    public string PathOf(string key) => Path.Combine(directory, key + ".tsrl");

    /// <summary>The cached values of <paramref name="key"/> when the file exists, verifies and holds exactly
    /// <paramref name="count"/> values.</summary>
    public bool TryLoad(string key, int count, out double[] values)
    {
        values = [];
        byte[] bytes;
        try { bytes = File.ReadAllBytes(PathOf(key)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        int body = Magic.Length + 4 + 8 * count;
        if (bytes.Length != body + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) return false;
        if (!SHA256.HashData(bytes.AsSpan(0, body)).AsSpan().SequenceEqual(bytes.AsSpan(body))) return false;
        if (BitConverter.ToInt32(bytes, Magic.Length) != count) return false;
        values = new double[count];
        Buffer.BlockCopy(bytes, Magic.Length + 4, values, 0, 8 * count);
        return true;
    }

    public void Save(string key, double[] values)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(values.Length);
            foreach (double v in values) w.Write(v);
        }
        ms.Write(SHA256.HashData(ms.ToArray()));
        Directory.CreateDirectory(directory);
        string path = PathOf(key), temp = $"{path}.{Guid.NewGuid():N}.tmp"; // readers never see a partial file
        try
        {
            File.WriteAllBytes(temp, ms.ToArray());
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
