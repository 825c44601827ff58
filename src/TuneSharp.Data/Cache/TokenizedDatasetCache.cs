using System.Security.Cryptography;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;

namespace TuneSharp.Data.Cache;

/// <summary>
/// The inputs that determine a tokenized dataset, hashed into the cache key: data file contents (in order), tokenizer
/// files, template source and variables, encoding settings and <see cref="CodeVersion"/>.
/// </summary>
public static class CacheKey
{
    /// <summary>Bump whenever encoding output changes for the same inputs (masking rules, tokenizer fixes, format).</summary>
    public const int CodeVersion = 1;

    static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"];

    /// <summary>Hex SHA-256 over everything that determines the encoded dataset.</summary>
    public static string Compute(IEnumerable<string> dataFiles, string tokenizerDirectory, ChatTemplate template, EncodingSettings settings,
        IReadOnlyDictionary<string, object?>? templateVariables = null, string? extra = null)
    {
        var parts = new List<string> { $"code={CodeVersion}", $"format={TokenizedDatasetCache.FormatVersion}" };
        foreach (string file in dataFiles) parts.Add("data=" + HashFile(file));
        foreach (string name in TokenizerFiles)
        {
            string path = Path.Combine(tokenizerDirectory, name);
            if (File.Exists(path)) parts.Add($"{name}={HashFile(path)}");
        }
        parts.Add("template=" + Hash(System.Text.Encoding.UTF8.GetBytes(template.Source)));
        if (templateVariables != null)
            foreach (var kv in templateVariables.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                parts.Add($"var:{kv.Key}={System.Text.Json.JsonSerializer.Serialize(kv.Value?.ToString())}");
        parts.Add("settings=" + settings.Describe());
        if (extra != null) parts.Add("extra=" + extra);
        return Hash(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', parts)));
    }

    static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

/// <summary>
/// On-disk cache of encoded datasets, one file per key (<c>&lt;dir&gt;/&lt;key&gt;.tsds</c>). Files are written to a
/// temporary name and renamed (readers never see a partial file), and carry a SHA-256 of their content: a corrupt,
/// truncated or foreign file is ignored (and rebuilt by <see cref="GetOrCreate"/>), never a crash.
/// </summary>
/// <remarks>
/// Format (little-endian): magic "TSDSv001", int32 format version, 32-byte key, int32 sample count, int64 token count,
/// int32 counter count + int64 counters, int32 bucket count + int64 histogram, int32 reason count + strings, int32 source-file count + strings,
/// per sample int32 length, int32 source file index (-1: none), int64 line; int32 ids; trained flags bit-packed
/// (LSB first); 32-byte SHA-256 of all preceding bytes.
/// </remarks>
public sealed class TokenizedDatasetCache(string directory)
{
    public const int FormatVersion = 1;
    static readonly byte[] Magic = "TSDSv001"u8.ToArray();

    public string Directory { get; } = directory;

    public string PathOf(string key) => Path.Combine(Directory, key + ".tsds");

    /// <summary>The cached dataset for <paramref name="key"/>, or <paramref name="build"/>'s result (then cached).</summary>
    public EncodedDataset GetOrCreate(string key, Func<EncodedDataset> build)
    {
        if (TryLoad(key, out var cached)) return cached!;
        var built = build();
        Save(key, built);
        return built;
    }

    /// <summary>Reads the entry for <paramref name="key"/>; false when absent or invalid (wrong key, checksum, length).</summary>
    public bool TryLoad(string key, out EncodedDataset? dataset)
    {
        dataset = null;
        string path = PathOf(key);
        if (!File.Exists(path)) return false;
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length < Magic.Length + 32 + 32) return false;
            var body = bytes.AsSpan(0, bytes.Length - 32);
            if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32))) return false;
            dataset = Read(new BinaryReader(new MemoryStream(bytes, 0, body.Length)), key);
            return dataset != null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException
            or EndOfStreamException or ArgumentException or OverflowException or FormatException)
        {
            return false;
        }
    }

    static EncodedDataset? Read(BinaryReader r, string key)
    {
        if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || r.ReadInt32() != FormatVersion) return null;
        if (Convert.ToHexStringLower(r.ReadBytes(32)) != key) return null;
        int count = r.ReadInt32();
        long tokens = r.ReadInt64();
        long remaining = r.BaseStream.Length - r.BaseStream.Position;
        if (count < 0 || tokens < 0 || tokens > remaining / 4 || count > remaining / 16) return null;
        var counters = ReadLongs(r, 16);
        var histogram = ReadLongs(r, 64);
        if (counters == null || histogram == null || histogram.Length != EncodingStats.Buckets) return null;
        int reasons = r.ReadInt32();
        if (reasons < 0 || reasons > EncodingStats.MaxReasons) return null;
        var reasonList = new string[reasons];
        for (int i = 0; i < reasons; i++) reasonList[i] = r.ReadString();
        int files = r.ReadInt32();
        if (files < 0 || files > count + 1) return null;
        var names = new string[files];
        for (int i = 0; i < files; i++) names[i] = r.ReadString();

        var lengths = new int[count];
        var sources = new SourceLocation?[count];
        long sum = 0;
        for (int i = 0; i < count; i++)
        {
            lengths[i] = r.ReadInt32();
            int file = r.ReadInt32();
            long line = r.ReadInt64();
            if (lengths[i] < 0 || file < -1 || file >= files) return null;
            sum += lengths[i];
            sources[i] = file < 0 ? null : new SourceLocation(names[file], line);
        }
        if (sum != tokens) return null;
        var ids = new int[tokens];
        var idBytes = r.ReadBytes(checked((int)tokens * 4));
        if (idBytes.Length != tokens * 4) return null;
        Buffer.BlockCopy(idBytes, 0, ids, 0, idBytes.Length);
        var bits = r.ReadBytes(checked((int)((tokens + 7) / 8)));
        if (bits.Length != (tokens + 7) / 8 || r.BaseStream.Position != r.BaseStream.Length) return null;

        var samples = new TokenizedSample[count];
        long offset = 0;
        for (int i = 0; i < count; i++)
        {
            var trained = new bool[lengths[i]];
            for (int t = 0; t < trained.Length; t++, offset++) trained[t] = (bits[offset >> 3] & (1 << (int)(offset & 7))) != 0;
            samples[i] = new TokenizedSample(ids.AsSpan((int)(offset - lengths[i]), lengths[i]).ToArray(), trained, sources[i]);
        }
        var stats = new EncodingStats();
        stats.Set(counters, histogram);
        stats.Reasons.AddRange(reasonList);
        return new EncodedDataset(samples, stats);
    }

    static long[]? ReadLongs(BinaryReader r, int max)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > max) return null;
        var values = new long[n];
        for (int i = 0; i < n; i++) values[i] = r.ReadInt64();
        return values;
    }

    /// <summary>Writes the entry atomically (temporary file in the same directory, then rename).</summary>
    public void Save(string key, EncodedDataset dataset)
    {
        if (key.Length != 64 || !key.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException($"cache key '{key}' is not a lowercase hex SHA-256 (see CacheKey.Compute)", nameof(key));
        System.IO.Directory.CreateDirectory(Directory);
        string path = PathOf(key), temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                using var hashing = new HashingStream(stream);
                using (var w = new BinaryWriter(hashing, System.Text.Encoding.UTF8, leaveOpen: true)) Write(w, key, dataset);
                stream.Write(hashing.Finish());
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    static void Write(BinaryWriter w, string key, EncodedDataset dataset)
    {
        var samples = dataset.Samples;
        long tokens = samples.Sum(s => (long)s.Length);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(Convert.FromHexString(key));
        w.Write(samples.Count);
        w.Write(tokens);
        WriteLongs(w, dataset.Stats.Counters);
        WriteLongs(w, dataset.Stats.LengthHistogram);
        w.Write(dataset.Stats.Reasons.Count);
        foreach (string reason in dataset.Stats.Reasons) w.Write(reason);
        var fileIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in samples)
            if (s.Source != null) fileIndex.TryAdd(s.Source.File, fileIndex.Count);
        w.Write(fileIndex.Count);
        foreach (var name in fileIndex.OrderBy(kv => kv.Value)) w.Write(name.Key);
        foreach (var s in samples)
        {
            w.Write(s.Length);
            w.Write(s.Source == null ? -1 : fileIndex[s.Source.File]);
            w.Write(s.Source?.Line ?? 0);
        }
        foreach (var s in samples) w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s.InputIds.AsSpan()));
        // trained flags, bit-packed across all samples
        var bits = new byte[(tokens + 7) / 8];
        long offset = 0;
        foreach (var s in samples)
            foreach (bool t in s.Trained)
            {
                if (t) bits[offset >> 3] |= (byte)(1 << (int)(offset & 7));
                offset++;
            }
        w.Write(bits);
    }

    static void WriteLongs(BinaryWriter w, long[] values)
    {
        w.Write(values.Length);
        foreach (long v in values) w.Write(v);
    }

    /// <summary>Passes writes through while hashing them.</summary>
    sealed class HashingStream(Stream inner) : Stream
    {
        readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public byte[] Finish() => hash.GetHashAndReset();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
