using System.Buffers.Binary;
using System.IO.Compression;

namespace TuneSharp.Data;

/// <summary>Opens dataset files, transparently decompressing <c>.gz</c>, and classifies the inner extension.</summary>
internal static class SourceStreams
{
    public static readonly string[] Extensions = [".jsonl", ".json", ".csv", ".parquet", ".txt"];

    /// <summary>The data extension of a path, looking through <c>.gz</c> (x.jsonl.gz -> .jsonl); null when unsupported.</summary>
    public static string? DataExtension(string path, out bool gzip)
    {
        string name = Path.GetFileName(path).ToLowerInvariant();
        gzip = name.EndsWith(".gz", StringComparison.Ordinal);
        if (gzip) name = name[..^3];
        string ext = Path.GetExtension(name);
        if (ext == ".ndjson") ext = ".jsonl";
        return Array.IndexOf(Extensions, ext) >= 0 ? ext : null;
    }

    public static Stream Open(string path, bool gzip)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (!gzip || file.Length == 0) return file;
        uint expectedSize = 0;
        if (file.Length >= 18)
        {
            // gzip trailer: CRC32, then ISIZE = uncompressed size mod 2^32 (of the last member).
            Span<byte> tail = stackalloc byte[4];
            file.Seek(-4, SeekOrigin.End);
            file.ReadExactly(tail);
            file.Seek(0, SeekOrigin.Begin);
            expectedSize = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        }
        return new CheckedGzipStream(new GZipStream(file, CompressionMode.Decompress), file.Length >= 18, expectedSize);
    }

    /// <summary>
    /// .NET's GZipStream ends silently on a truncated file; this wrapper compares the decompressed size with the trailer's
    /// ISIZE at end of stream and turns decompression errors into <see cref="SourceReadException"/>.
    /// </summary>
    sealed class CheckedGzipStream(GZipStream inner, bool hasTrailer, uint expectedSize) : Stream
    {
        long _total;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n;
            try { n = inner.Read(buffer); }
            catch (InvalidDataException e)
            {
                throw new SourceReadException(ProblemCodes.TruncatedGzip, $"corrupt gzip data after {_total} bytes: {e.Message}",
                    "re-download or re-compress the file (gzip -t checks it)");
            }
            _total += n;
            if (n == 0 && buffer.Length > 0 && (!hasTrailer || (uint)_total != expectedSize))
                throw new SourceReadException(ProblemCodes.TruncatedGzip,
                    $"gzip stream ends after {_total} bytes without a valid trailer (truncated file)",
                    "re-download or re-compress the file (gzip -t checks it)");
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _total; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
