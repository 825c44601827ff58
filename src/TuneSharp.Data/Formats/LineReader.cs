namespace TuneSharp.Data;

/// <summary>
/// Reads '\n'-terminated lines of bytes with a length cap: a longer line is skipped in chunks (never buffered whole)
/// and reported as <see cref="LineStatus.TooLong"/>. Stream failures become <see cref="LineStatus.Error"/>.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLineBytes)
{
    byte[] _buf = new byte[Math.Min(1 << 16, maxLineBytes + 1)];
    int _start, _end;
    bool _eof;

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }
    /// <summary>The current line without its '\n' (and '\r'); valid until the next call.</summary>
    public ReadOnlyMemory<byte> Line { get; private set; }
    /// <summary>Length in bytes of the last skipped over-long line.</summary>
    public long SkippedLength { get; private set; }
    public long TotalBytes { get; private set; }
    public SourceReadException? Error { get; private set; }

    public LineStatus Next()
    {
        while (true)
        {
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                SetLine(_start, nl);
                _start += nl + 1;
                return LineStatus.Line;
            }
            if (_eof)
            {
                if (_start == _end) return LineStatus.End;
                SetLine(_start, _end - _start);
                _start = _end;
                return LineStatus.Line;
            }
            if (_end - _start > maxLineBytes) return SkipLongLine();
            if (!Fill()) return LineStatus.Error;
        }
    }

    void SetLine(int start, int length)
    {
        LineNumber++;
        if (length > 0 && _buf[start + length - 1] == (byte)'\r') length--;
        Line = _buf.AsMemory(start, length);
    }

    /// <summary>Compacts, grows (up to the cap) and reads more bytes; false on a stream error.</summary>
    bool Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buf.Length)
            Array.Resize(ref _buf, (int)Math.Min((long)_buf.Length * 2, (long)maxLineBytes + 1 + (1 << 16)));
        int n;
        try { n = stream.Read(_buf, _end, _buf.Length - _end); }
        catch (SourceReadException e) { Error = e; return false; }
        if (n == 0) _eof = true;
        _end += n;
        TotalBytes += n;
        return true;
    }

    LineStatus SkipLongLine()
    {
        long skipped = 0;
        while (true)
        {
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                skipped += nl;
                _start += nl + 1;
                break;
            }
            skipped += _end - _start;
            _start = _end = 0;
            if (_eof) break;
            if (!Fill()) return LineStatus.Error;
            if (_eof && _end == 0) break;
        }
        LineNumber++;
        SkippedLength = skipped;
        return LineStatus.TooLong;
    }
}

internal enum LineStatus { Line, TooLong, End, Error }
