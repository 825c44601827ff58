using System.Text.Json;

namespace TuneSharp.Models;

/// <summary>
/// Typed, tracked access to a Hugging Face `config.json`. Every getter records the key as understood, so that after a
/// family has mapped the config, the keys nobody read can be reported. Errors name the file and the key.
/// </summary>
public sealed class ConfigReader
{
    readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);
    readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public ConfigReader(JsonElement root, string source)
    {
        Source = source;
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: expected a JSON object, found {root.ValueKind}");
        foreach (var p in root.EnumerateObject()) _values[p.Name] = p.Value.Clone();
    }

    public static ConfigReader FromFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: config.json not found", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return new ConfigReader(doc.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }

    public static ConfigReader FromJson(string json, string source = "config.json")
    {
        using var doc = JsonDocument.Parse(json);
        return new ConfigReader(doc.RootElement, source);
    }

    public string Source { get; }

    public bool Has(string key) => _values.TryGetValue(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>Marks a key as read without interpreting it (metadata like transformers_version).</summary>
    public void Ignore(params string[] keys)
    {
        foreach (var k in keys) _read.Add(k);
    }

    /// <summary>Keys present in the file that no getter or <see cref="Ignore"/> touched.</summary>
    public IEnumerable<string> UnreadKeys => _values.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal);

    public JsonElement? Raw(string key)
    {
        _read.Add(key);
        return _values.TryGetValue(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
    }

    public int Int(string key) => IntOrNull(key) ?? throw Missing(key);
    public int Int(string key, int fallback) => IntOrNull(key) ?? fallback;

    public int? IntOrNull(string key)
    {
        if (Raw(key) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
        throw WrongType(key, "an integer", v);
    }

    public double Double(string key) => DoubleOrNull(key) ?? throw Missing(key);
    public double Double(string key, double fallback) => DoubleOrNull(key) ?? fallback;

    public double? DoubleOrNull(string key)
    {
        if (Raw(key) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
        throw WrongType(key, "a number", v);
    }

    public bool Bool(string key, bool fallback)
    {
        if (Raw(key) is not { } v) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(key, "true or false", v),
        };
    }

    public string? String(string key)
    {
        if (Raw(key) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        throw WrongType(key, "a string", v);
    }

    /// <summary>An id or a list of ids (eos_token_id may be either).</summary>
    public IReadOnlyList<int> IntList(string key)
    {
        if (Raw(key) is not { } v) return [];
        if (v.ValueKind == JsonValueKind.Number) return [v.GetInt32()];
        if (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
            return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
        throw WrongType(key, "an integer or a list of integers", v);
    }

    /// <summary>A nested object (e.g. rope_scaling), or null when absent or null.</summary>
    public ConfigReader? Object(string key)
    {
        if (Raw(key) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Object) throw WrongType(key, "an object", v);
        return new ConfigReader(v, $"{Source}: {key}");
    }

    /// <summary>Fails with the key named when a value the decoder cannot honour is present.</summary>
    public NotSupportedException Unsupported(string key, string why) =>
        new($"{Source}: '{key}' {why}");

    InvalidDataException Missing(string key) => new($"{Source}: required key '{key}' is missing");

    InvalidDataException WrongType(string key, string expected, JsonElement v) =>
        new($"{Source}: '{key}' must be {expected}, found {v.ValueKind} {Truncate(v.GetRawText())}");

    static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
