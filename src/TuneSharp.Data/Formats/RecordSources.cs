using System.Text;
using System.Text.Json.Nodes;
using CsvHelper;

namespace TuneSharp.Data;

/// <summary>Reads the raw records of one file, whatever its container (.jsonl, .json, .csv, .parquet, .txt, + .gz).</summary>
internal static class RecordSources
{
    /// <summary>
    /// Files of a dataset: the file itself, or every supported file under a directory in ordinal order (only those of
    /// <see cref="DatasetSpec.Split"/> when it is set, see <see cref="SplitFiles"/>).
    /// </summary>
    public static IEnumerable<string> Files(DatasetSpec spec)
    {
        string path = spec.Path;
        if (Directory.Exists(path))
        {
            var all = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => SourceStreams.DataExtension(f, out _) != null)
                .Order(StringComparer.Ordinal).ToList();
            if (spec.Split is not { } split) return all;
            var selected = SplitFiles.Select(path, all, split).ToList();
            if (selected.Count == 0)
                throw new FileNotFoundException(
                    $"dataset folder '{path}' has no file of split '{split}' (a file or folder name must contain the word " +
                    $"'{split}', e.g. {split}.jsonl or data/{split}-00000-of-00001.parquet); its files: " +
                    string.Join(", ", all.Take(10).Select(f => Path.GetRelativePath(path, f))) + (all.Count > 10 ? ", ..." : ""), path);
            return selected;
        }
        if (File.Exists(path))
            return spec.Split is { } s
                ? throw new ArgumentException($"dataset '{path}' is a file, but split '{s}' selects the files of a folder dataset; remove split")
                : [path];
        throw new FileNotFoundException($"dataset path '{path}' does not exist", path);
    }

    public static IEnumerable<RawRecord> Read(string file, DatasetSpec spec)
    {
        string? ext = SourceStreams.DataExtension(file, out bool gzip);
        IEnumerable<RawRecord> records = ext switch
        {
            ".jsonl" => Jsonl(file, gzip, spec),
            ".json" => JsonArray(file, gzip, spec),
            ".csv" => Csv(file, gzip, spec),
            ".parquet" => ParquetSource.Read(file, gzip),
            ".txt" => Text(file, gzip, spec),
            _ => [RawRecord.Fail(new SourceLocation(file, 0), ProblemCodes.UnsupportedFile, null,
                $"unsupported file type '{Path.GetExtension(file)}'",
                "use .jsonl, .json, .csv, .parquet or .txt (optionally .gz)")],
        };
        bool any = false;
        foreach (var r in records)
        {
            any = true;
            yield return r;
            if (r.Fatal) yield break;
        }
        if (!any)
            yield return RawRecord.Fail(new SourceLocation(file, 0), ProblemCodes.EmptyFile, null, "file contains no records",
                "add records, or remove the file from the dataset");
    }

    static IEnumerable<RawRecord> Jsonl(string file, bool gzip, DatasetSpec spec)
    {
        using var stream = SourceStreams.Open(file, gzip);
        var lines = new LineReader(stream, spec.MaxRecordBytes);
        while (true)
        {
            var status = lines.Next();
            var at = new SourceLocation(file, lines.LineNumber);
            switch (status)
            {
                case LineStatus.End:
                    yield break;
                case LineStatus.Error:
                    yield return RawRecord.Fail(new SourceLocation(file, lines.LineNumber + 1), lines.Error!.Code, null,
                        lines.Error.Message, lines.Error.Hint, fatal: true);
                    yield break;
                case LineStatus.TooLong:
                    yield return RawRecord.Fail(at, ProblemCodes.LineTooLong, null,
                        $"line is {lines.SkippedLength} bytes, longer than the {spec.MaxRecordBytes}-byte limit; skipped",
                        "split the record or raise DatasetSpec.MaxRecordBytes");
                    break;
                default:
                    if (lines.Line.Span.IndexOfAnyExcept(" \t\r"u8) < 0) break;   // blank lines are allowed
                    yield return JsonRecords.Parse(lines.Line.Span, at, spec.MaxDepth);
                    break;
            }
        }
    }

    static IEnumerable<RawRecord> JsonArray(string file, bool gzip, DatasetSpec spec)
    {
        using var stream = SourceStreams.Open(file, gzip);
        var array = new JsonArrayReader(stream, file, spec.MaxRecordBytes, spec.MaxDepth);
        while (array.Next())
            yield return JsonRecords.Parse(array.Element.Span, new SourceLocation(file, array.Index), spec.MaxDepth, array.ElementLine);
        if (array.Failure is { } failure) yield return failure;
    }

    static IEnumerable<RawRecord> Csv(string file, bool gzip, DatasetSpec spec)
    {
        var malformed = new List<CsvMalformedRecord>();
        var options = new CsvReaderOptions
        {
            TrackLineNumbers = true,
            MalformedData = CsvMalformedDataHandling.Skip,
            OnMalformedRecord = malformed.Add,
            MaxRecordSize = spec.MaxRecordBytes,
        };
        using var reader = CsvReader.Create(SourceStreams.Open(file, gzip), options, false);
        string[]? header = null;
        while (true)
        {
            var (ok, failure) = TryRead(reader, file);
            foreach (var m in malformed)
                yield return RawRecord.Fail(new SourceLocation(file, m.LineNumber), ProblemCodes.InvalidCsv, null,
                    $"malformed CSV record ({m.Reason}); skipped", "quote fields with \" and double inner quotes (\"\")");
            malformed.Clear();
            if (failure != null) yield return failure;
            if (!ok) yield break;
            header ??= [.. reader.Headers];
            var at = new SourceLocation(file, reader.LineNumber);
            if (!System.Text.Unicode.Utf8.IsValid(reader.RawRecord))
            {
                yield return RawRecord.Fail(at, ProblemCodes.InvalidUtf8, null, "invalid UTF-8 in CSV row; skipped",
                    "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)");
                continue;
            }
            if (reader.FieldCount != header.Length)
            {
                yield return RawRecord.Fail(at, ProblemCodes.RaggedRow, null,
                    $"row has {reader.FieldCount} fields but the header has {header.Length} ({string.Join(", ", header)})",
                    "make every row have one field per header column (quote fields containing commas)");
                continue;
            }
            var obj = new JsonObject();
            for (int i = 0; i < header.Length; i++) obj[header[i]] = reader.GetString(i);
            yield return new RawRecord(at, obj, null);
        }
    }

    static (bool Ok, RawRecord? Failure) TryRead(CsvReader reader, string file)
    {
        try { return (reader.Read(), null); }
        catch (CsvFormatException e)
        {
            return (false, RawRecord.Fail(new SourceLocation(file, e.LineNumber), ProblemCodes.InvalidCsv, null, e.Message,
                "fix the CSV quoting (an unclosed quote swallows the rest of the file)", fatal: true));
        }
        catch (SourceReadException e)
        {
            return (false, RawRecord.Fail(new SourceLocation(file, 0), e.Code, null, e.Message, e.Hint, fatal: true));
        }
    }

    static IEnumerable<RawRecord> Text(string file, bool gzip, DatasetSpec spec)
    {
        using var stream = SourceStreams.Open(file, gzip);
        var lines = new LineReader(stream, spec.MaxRecordBytes);
        var doc = new StringBuilder();
        long docLine = 1;
        bool whole = spec.TextSplit == TextSplit.File;
        while (true)
        {
            var status = lines.Next();
            if (status == LineStatus.Error)
            {
                yield return RawRecord.Fail(new SourceLocation(file, lines.LineNumber + 1), lines.Error!.Code, null,
                    lines.Error.Message, lines.Error.Hint, fatal: true);
                yield break;
            }
            if (status == LineStatus.TooLong)
            {
                yield return RawRecord.Fail(new SourceLocation(file, lines.LineNumber), ProblemCodes.LineTooLong, null,
                    $"line is {lines.SkippedLength} bytes, longer than the {spec.MaxRecordBytes}-byte limit; skipped",
                    "wrap the text into shorter lines or raise DatasetSpec.MaxRecordBytes");
                continue;
            }
            bool end = status == LineStatus.End;
            var span = end ? default : lines.Line.Span;
            if (!end && !System.Text.Unicode.Utf8.IsValid(span))
            {
                yield return RawRecord.Fail(new SourceLocation(file, lines.LineNumber), ProblemCodes.InvalidUtf8, null,
                    $"invalid UTF-8 at byte {JsonRecords.FirstInvalidUtf8(span) + 1} of the line; line skipped",
                    "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)");
                continue;
            }
            bool blank = !end && span.IndexOfAnyExcept(" \t"u8) < 0;
            if (end || (!whole && blank))
            {
                if (doc.Length > 0 && doc.ToString().AsSpan().IndexOfAnyExcept(" \t\r\n") >= 0)
                {
                    var obj = new JsonObject { ["text"] = whole ? doc.ToString() : doc.ToString().TrimEnd('\n') };
                    yield return new RawRecord(new SourceLocation(file, docLine), obj, null) { PlainText = true };
                }
                doc.Clear();
                if (end) yield break;
                continue;
            }
            if (doc.Length == 0) docLine = lines.LineNumber;
            if (lines.LineNumber == 1 && span.StartsWith("\uFEFF"u8)) span = span[3..];
            doc.Append(System.Text.Encoding.UTF8.GetString(span)).Append('\n');
        }
    }
}
