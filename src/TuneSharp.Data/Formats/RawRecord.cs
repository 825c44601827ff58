using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>One record read from a source before format mapping: a JSON object, a plain text document, or a problem.</summary>
internal sealed record RawRecord(SourceLocation Location, JsonObject? Json, DataProblem? Problem)
{
    /// <summary>Text line where the record starts, when <see cref="SourceLocation.Line"/> is a record index (JSON arrays).</summary>
    public long? TextLine { get; init; }
    /// <summary>A .txt document: <see cref="Json"/> holds only "text" and is never format-detected.</summary>
    public bool PlainText { get; init; }
    /// <summary>Parquet columns that are not strings: name -> type, so a misuse reads "unexpected_column_type".</summary>
    public IReadOnlyDictionary<string, string>? ColumnTypes { get; init; }
    /// <summary>Stops the current file after this record (the source cannot resynchronize).</summary>
    public bool Fatal { get; init; }

    public static RawRecord Fail(SourceLocation at, string code, string? field, string message, string hint,
        long? textLine = null, bool fatal = false) =>
        new(at, null, new DataProblem(at, code, field, message, hint) { TextLine = textLine }) { TextLine = textLine, Fatal = fatal };
}

/// <summary>An I/O or decompression failure of a source stream, turned into a problem by the readers.</summary>
internal sealed class SourceReadException(string code, string message, string hint) : Exception(message)
{
    public string Code { get; } = code;
    public string Hint { get; } = hint;
}
