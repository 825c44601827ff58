using System.Text.Json;

namespace TuneSharp.Eval.Tasks;

/// <summary>Reads JSON Lines records; a bad line is an error naming file:line.</summary>
public static class JsonLines
{
    public static IReadOnlyList<JsonElement> Read(string path)
    {
        var rows = new List<JsonElement>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try { rows.Add(JsonDocument.Parse(text).RootElement.Clone()); }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{line}: not a JSON object ({e.Message})", e); }
        }
        return rows;
    }

    public static string Str(this JsonElement row, string key, string path, int index) =>
        row.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new InvalidDataException($"{path}:{index + 1}: missing string field '{key}'");

    public static int Int(this JsonElement row, string key, string path, int index) =>
        row.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32()
            : throw new InvalidDataException($"{path}:{index + 1}: missing integer field '{key}'");

    public static IReadOnlyList<string> Strings(this JsonElement row, string key, string path, int index) =>
        row.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(e => e.GetString()!).ToList()
            : throw new InvalidDataException($"{path}:{index + 1}: missing string list '{key}'");
}
