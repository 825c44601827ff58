using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>Collects the problems of one record and offers typed field access that reports wrong or missing fields.</summary>
internal sealed class RecordContext(RawRecord raw, List<DataProblem> problems)
{
    public SourceLocation At => raw.Location;
    public string Detection { get; set; } = "";
    public bool Failed { get; private set; }
    public int ProblemCount { get; private set; }

    public void Add(string code, string? field, string message, string hint)
    {
        Failed = true;
        ProblemCount++;
        string root = field is null ? "" : field.Split('.', '[')[0];
        if (raw.ColumnTypes is { } types && types.TryGetValue(root, out var type) && code is ProblemCodes.WrongType or ProblemCodes.MissingField)
        {
            code = ProblemCodes.UnexpectedColumnType;
            message = $"Parquet column '{root}' has type {type}, expected string";
            hint = "store the column as a string (e.g. cast it with pyarrow) or map another column in 'columns'";
        }
        if (Detection.Length > 0) message += $" ({Detection})";
        problems.Add(new DataProblem(At, code, field, message, hint) { TextLine = raw.TextLine });
    }

    public void WrongType(string field, JsonNode? node, string expected) =>
        Add(ProblemCodes.WrongType, field, $"'{field}' is a {JsonRecords.Kind(node)}, expected {expected}", $"make '{field}' {expected}");

    public void Missing(string field, string what) =>
        Add(ProblemCodes.MissingField, field, $"missing '{field}' ({what})", $"add '{field}' or map it with 'columns'");

    /// <summary>A string field; null (with a problem when required or of the wrong type) otherwise.</summary>
    public string? String(JsonObject obj, string key, string path, bool required)
    {
        var node = obj[key];
        if (node is null)
        {
            if (required) Missing(path, "a string");
            return null;
        }
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        WrongType(path, node, "a string");
        return null;
    }

    public static bool IsString(JsonNode? node, out string value)
    {
        value = "";
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            value = v.GetValue<string>();
            return true;
        }
        return false;
    }
}
