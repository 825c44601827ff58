using System.Text.Json;

namespace TuneSharp.Data;

/// <summary>
/// Streams the elements of a top-level JSON array with <see cref="Utf8JsonReader"/> over a growing buffer, so a multi-GB
/// .json file is never loaded whole. Elements are returned as byte ranges with their record index and starting text line.
/// </summary>
internal sealed class JsonArrayReader(Stream stream, string file, int maxRecordBytes, int maxDepth)
{
    byte[] _buf = new byte[1 << 16];
    int _pos, _end, _counted;
    long _line = 1;
    bool _eof, _started, _sawAny;
    JsonReaderState _state = new(new JsonReaderOptions { MaxDepth = maxDepth + 1 });

    public long Index { get; private set; }
    public long ElementLine { get; private set; }
    public ReadOnlyMemory<byte> Element { get; private set; }
    /// <summary>Set when <see cref="Next"/> returns false because of a problem (the rest of the file is unreadable).</summary>
    public RawRecord? Failure { get; private set; }

    /// <summary>Advances to the next element; false at the end of the array or on a fatal problem.</summary>
    public bool Next()
    {
        while (true)
        {
            var step = TryStep();
            if (step != Step.NeedMore) return step == Step.Element;
            if (_eof)
            {
                Failure = _started || _sawAny
                    ? Fatal(ProblemCodes.InvalidJson, "file ends inside the top-level JSON array", "the file is truncated: close the array with ']'")
                    : Fatal(ProblemCodes.EmptyFile, "file is empty", "add records, or remove the file from the dataset");
                return false;
            }
            if (_end - _pos > maxRecordBytes)
            {
                Failure = Fatal(ProblemCodes.LineTooLong, $"a JSON array element is longer than {maxRecordBytes} bytes",
                    "split the record, or convert the file to JSONL so one bad record does not stop the file");
                return false;
            }
            if (!Fill()) return false;
        }
    }

    enum Step { Element, End, NeedMore }

    Step TryStep()
    {
        if (!_started && !_sawAny)
        {
            if (!_eof) return Step.NeedMore;
            Failure = Fatal(ProblemCodes.EmptyFile, "file is empty", "add records, or remove the file from the dataset");
            return Step.End;
        }
        var reader = new Utf8JsonReader(_buf.AsSpan(_pos, _end - _pos), _eof, _state);
        try
        {
            if (!_started)
            {
                if (!reader.Read()) return Step.NeedMore;
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    Failure = Fatal(ProblemCodes.WrongType, $"top-level JSON value is {reader.TokenType}, expected an array of records",
                        "a .json dataset must be an array [ {...}, {...} ]; use .jsonl for one object per line");
                    return Step.End;
                }
                _started = true;
                Advance(ref reader);
                reader = new Utf8JsonReader(_buf.AsSpan(_pos, _end - _pos), _eof, _state);
            }
            if (!reader.Read()) return Step.NeedMore;
            if (reader.TokenType == JsonTokenType.EndArray) return Step.End;
            int start = _pos + (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip()) return Step.NeedMore;
            int stop = _pos + (int)reader.BytesConsumed;
            CountLines(start);
            Index++;
            ElementLine = _line;
            Element = _buf.AsMemory(start, stop - start);
            Advance(ref reader);
            return Step.Element;
        }
        catch (JsonException e)
        {
            Failure = reader.CurrentDepth >= maxDepth
                ? JsonRecords.TooDeep(new SourceLocation(file, Index + 1), maxDepth, reader.BytesConsumed, _line, fatal: true)
                : Fatal(ProblemCodes.InvalidJson, "JSON syntax error: " + e.Message.Split(" LineNumber:")[0].TrimEnd('.'),
                    "fix the JSON syntax (the rest of a .json array cannot be read past this point)");
            return Step.End;
        }
    }

    void Advance(ref Utf8JsonReader reader)
    {
        _pos += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
    }

    void CountLines(int upTo)
    {
        if (upTo <= _counted) return;
        _line += _buf.AsSpan(_counted, upTo - _counted).Count((byte)'\n');
        _counted = upTo;
    }

    RawRecord Fatal(string code, string message, string hint)
    {
        CountLines(_pos);
        return RawRecord.Fail(new SourceLocation(file, Index + 1), code, null, message, hint, _line, fatal: true);
    }

    bool Fill()
    {
        CountLines(_pos);
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buf, _pos, _buf, 0, _end - _pos);
            _end -= _pos;
            _counted -= _pos;
            _pos = 0;
        }
        if (_end == _buf.Length) Array.Resize(ref _buf, (int)Math.Min((long)_buf.Length * 2, (long)maxRecordBytes + (1 << 17)));
        int n;
        try { n = stream.Read(_buf, _end, _buf.Length - _end); }
        catch (SourceReadException e)
        {
            Failure = Fatal(e.Code, e.Message, e.Hint);
            return false;
        }
        if (n == 0) _eof = true;
        if (n > 0 && _buf.AsSpan(_end, n).IndexOfAnyExcept(" \t\r\n"u8) >= 0) _sawAny = true;
        _end += n;
        return true;
    }
}
