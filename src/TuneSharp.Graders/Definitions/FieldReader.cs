using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Graders.Definitions;

/// <summary>Typed reads from one JSON object with errors that name the full key path.</summary>
internal sealed class FieldReader
{
    readonly JsonObject _obj;

    public FieldReader(JsonObject obj, string path, params string[] known)
    {
        _obj = obj;
        Path = path;
        foreach (var (key, _) in obj)
            if (!known.Contains(key))
                throw new GraderDefinitionException(At(key), $"unknown key{DidYouMean(key, known)} (known keys: {string.Join(", ", known)})");
    }

    public string Path { get; }

    public string At(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public bool Has(string key) => _obj[key] is not null;

    public JsonNode Required(string key) => _obj[key] ?? throw new GraderDefinitionException(At(key), "missing required key");

    public string String(string key) => AsString(Required(key), At(key));

    public string? OptionalString(string key) => _obj[key] is { } n ? AsString(n, At(key)) : null;

    public double? OptionalNumber(string key) => _obj[key] is { } n ? AsNumber(n, At(key)) : null;

    public JsonObject Object(string key) =>
        Required(key) as JsonObject ?? throw new GraderDefinitionException(At(key), $"must be an object, got {Kind(_obj[key])}");

    public JsonObject? OptionalObject(string key) => _obj[key] switch
    {
        null => null,
        JsonObject o => o,
        var other => throw new GraderDefinitionException(At(key), $"must be an object, got {Kind(other)}"),
    };

    public JsonArray Array(string key) =>
        Required(key) as JsonArray ?? throw new GraderDefinitionException(At(key), $"must be an array, got {Kind(_obj[key])}");

    public T Enum<T>(string key, IReadOnlyDictionary<string, T> values)
    {
        string s = String(key);
        return values.TryGetValue(s, out var v) ? v : throw new GraderDefinitionException(At(key),
            $"'{s}' is not one of {string.Join(", ", values.Keys)}{DidYouMean(s, values.Keys)}");
    }

    public static string AsString(JsonNode node, string path) =>
        node is JsonValue v && v.TryGetValue(out string? s) ? s
        : throw new GraderDefinitionException(path, $"must be a string, got {Kind(node)}");

    // YAML scalars arrive as strings: accept "0.5" where a number is expected.
    public static double AsNumber(JsonNode node, string path)
    {
        if (node is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.Number) return v.GetValue<double>();
            if (v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        }
        throw new GraderDefinitionException(path, $"must be a number, got {Kind(node)}");
    }

    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{v.GetValue<string>()}\"",
            JsonValueKind.Number => $"the number {v.ToJsonString()}",
            var k => k.ToString().ToLowerInvariant(),
        },
        _ => "an unknown node",
    };

    public static string DidYouMean(string given, IEnumerable<string> candidates)
    {
        var best = candidates.Select(c => (c, d: Distance(given.ToLowerInvariant(), c.ToLowerInvariant())))
            .OrderBy(x => x.d).FirstOrDefault();
        return best.c != null && best.d <= Math.Max(2, given.Length / 3) ? $" (did you mean '{best.c}'?)" : "";
    }

    static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
