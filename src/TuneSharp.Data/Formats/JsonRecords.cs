using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>Turns the bytes of one JSON record into a <see cref="RawRecord"/>: UTF-8, syntax and nesting checks, then parse.</summary>
internal static class JsonRecords
{
    public static RawRecord Parse(ReadOnlySpan<byte> bytes, SourceLocation at, int maxDepth, long? textLine = null)
    {
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            int offset = FirstInvalidUtf8(bytes);
            return RawRecord.Fail(at, ProblemCodes.InvalidUtf8, null, $"invalid UTF-8 byte 0x{bytes[offset]:X2} at byte {offset + 1} of the record",
                "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)", textLine);
        }
        if (Check(bytes, at, maxDepth, textLine) is { } bad) return bad;
        JsonNode? node;
        try { node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = maxDepth + 1, AllowDuplicateProperties = false }); }
        catch (JsonException e)
        {
            return RawRecord.Fail(at, ProblemCodes.InvalidJson, null, Describe(e), "remove the repeated key (each key may appear once per object)", textLine);
        }
        if (node is JsonObject obj) return new RawRecord(at, obj, null) { TextLine = textLine };
        return RawRecord.Fail(at, ProblemCodes.WrongType, null, $"record is a JSON {Kind(node)}, expected an object",
            "each record must be a JSON object such as {\"messages\": [...]}", textLine);
    }

    /// <summary>Validates syntax and depth with a reader; null when fine.</summary>
    static RawRecord? Check(ReadOnlySpan<byte> bytes, SourceLocation at, int maxDepth, long? textLine)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
        try
        {
            while (reader.Read())
                if (reader.CurrentDepth >= maxDepth)
                    return TooDeep(at, maxDepth, reader.TokenStartIndex, textLine);
            return null;
        }
        catch (JsonException e)
        {
            if (reader.CurrentDepth >= maxDepth) return TooDeep(at, maxDepth, reader.BytesConsumed, textLine);
            return RawRecord.Fail(at, ProblemCodes.InvalidJson, null, Describe(e),
                "fix the JSON syntax; JSONL needs exactly one JSON object per line", textLine);
        }
    }

    public static RawRecord TooDeep(SourceLocation at, int maxDepth, long position, long? textLine, bool fatal = false) =>
        RawRecord.Fail(at, ProblemCodes.NestingTooDeep, null, $"JSON nesting deeper than {maxDepth} levels at byte {position + 1}",
            "flatten the record (or raise DatasetSpec.MaxDepth if the nesting is intended)", textLine, fatal);

    /// <summary>"&lt;what&gt; at line L, byte B" from a JsonException (System.Text.Json puts positions in the message).</summary>
    public static string Describe(JsonException e)
    {
        string msg = e.Message;
        int cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) msg = msg[..cut].TrimEnd();
        string where = e.LineNumber is long l && l > 0 ? $"line {l + 1} of the record, " : "";
        return $"{msg.TrimEnd('.')} ({where}byte {(e.BytePositionInLine ?? 0) + 1})";
    }

    public static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int used) != System.Buffers.OperationStatus.Done) return i;
            i += used;
        }
        return 0;
    }

    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "value",
        },
        _ => "value",
    };
}
