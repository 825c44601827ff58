using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

/// <summary>Scalar conversions with YAML 1.2 core-schema rules: numbers, booleans and null must be plain (unquoted).</summary>
internal static class YamlScalars
{
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s &&
        (string.IsNullOrEmpty(s.Value) || s.Value is "~" or "null" or "Null" or "NULL");

    static bool Plain(YamlNode node, out string text)
    {
        text = "";
        if (node is not YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s || IsNull(node)) return false;
        text = s.Value!;
        return true;
    }

    public static bool TryInt(YamlNode node, out int value)
    {
        value = 0;
        return Plain(node, out string t) && int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static bool TryDouble(YamlNode node, out double value)
    {
        value = 0;
        return Plain(node, out string t) && LooksNumeric(t) &&
               double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    /// <summary>Digits with optional sign, dot and exponent (rejects "Infinity", "NaN", hex...).</summary>
    public static bool LooksNumeric(string t) =>
        t.Length > 0 && t.All(c => char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-') && t.Any(char.IsAsciiDigit);

    public static bool TryBool(YamlNode node, out bool value)
    {
        value = false;
        if (!Plain(node, out string t)) return false;
        if (t.Equals("true", StringComparison.OrdinalIgnoreCase)) { value = true; return true; }
        return t.Equals("false", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Any non-null scalar, quoted or not.</summary>
    public static bool TryString(YamlNode node, out string value)
    {
        value = "";
        if (node is not YamlScalarNode s || IsNull(node)) return false;
        value = s.Value ?? "";
        return true;
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ when IsNull(node) => "null",
        YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s => $"'{s.Value}'",
        YamlScalarNode s => $"the quoted string '{s.Value}'",
        _ => "an unsupported node",
    };
}

/// <summary>
/// State of one binding run: where nodes come from (the file or an override), the errors found so far, the value
/// node of every key that was read (for positions of semantic errors) and every key path the schema knows.
/// </summary>
internal sealed class BindContext(string fileSource, string baseDir, DateTime now)
{
    readonly Dictionary<YamlNode, string> _overrideSources = new(ReferenceEqualityComparer.Instance);
    readonly List<(string Path, YamlNode KeyNode, List<string> Valid)> _unknown = [];
    readonly List<ConfigError> _errors = [];

    public string FileSource { get; } = fileSource;
    public string BaseDir { get; } = baseDir;
    public DateTime Now { get; } = now;
    public Dictionary<string, YamlNode> ValueNodes { get; } = new(StringComparer.Ordinal);
    public HashSet<string> KnownPaths { get; } = new(StringComparer.Ordinal);
    public bool HasErrors => _errors.Count > 0;

    /// <summary>
    /// The folder a relative path in <paramref name="node"/> is relative to: the YAML file's folder, or the current
    /// directory for values given as command-line overrides (typed in the shell, so relative to where it runs).
    /// </summary>
    public string BaseDirOf(YamlNode? node) =>
        node != null && _overrideSources.ContainsKey(node) ? Directory.GetCurrentDirectory() : BaseDir;

    /// <summary>Marks a node and all its descendants as coming from an override.</summary>
    public void TagOverride(YamlNode node, string source)
    {
        foreach (var n in node.AllNodes) _overrideSources[n] = source;
    }

    /// <summary>Reports an error at a node (file position, or the override it came from).</summary>
    public void Error(YamlNode? node, string? key, string message)
    {
        if (node != null && _overrideSources.TryGetValue(node, out string? src))
            _errors.Add(new ConfigError(src, null, null, key, message));
        else if (node != null)
            _errors.Add(new ConfigError(FileSource, (int)node.Start.Line, (int)node.Start.Column, key, message));
        else
            _errors.Add(new ConfigError(FileSource, null, null, key, message));
    }

    /// <summary>Reports an error about a key, at its value (or the closest enclosing section present in the YAML).</summary>
    public void ErrorAt(string key, string message)
    {
        for (string k = key; ; k = k[..k.LastIndexOf('.')])
        {
            if (ValueNodes.TryGetValue(k, out var node)) { Error(node, key, message); return; }
            if (!k.Contains('.')) break;
        }
        Error(null, key, message);
    }

    /// <summary>True when the key appears in the YAML (or an override) with a non-null value.</summary>
    public bool IsSet(string key) => ValueNodes.TryGetValue(key, out var n) && !YamlScalars.IsNull(n);

    public void Unknown(string path, YamlNode keyNode, List<string> valid) => _unknown.Add((path, keyNode, valid));

    /// <summary>Removes the unknown key <paramref name="path"/> from the pending errors and returns its key node (null when not there).</summary>
    public YamlNode? TakeUnknown(string path)
    {
        int i = _unknown.FindIndex(u => u.Path == path);
        if (i < 0) return null;
        var node = _unknown[i].KeyNode;
        _unknown.RemoveAt(i);
        return node;
    }

    /// <summary>Turns the collected unknown keys into errors, now that every known key path has been registered.</summary>
    public void ReportUnknownKeys()
    {
        foreach (var (path, keyNode, valid) in _unknown)
        {
            string key = ((YamlScalarNode)keyNode).Value ?? "";
            string hint;
            if (ConfigNames.Suggest(key, valid) is string near) hint = $" (did you mean '{near}'?)";
            else if (KnownPaths.FirstOrDefault(p => p.EndsWith("." + key, StringComparison.OrdinalIgnoreCase) || p.Equals(key, StringComparison.OrdinalIgnoreCase)) is string elsewhere)
                hint = $" (did you mean '{elsewhere}'?)";
            else hint = valid.Count > 0 ? $" (valid keys: {string.Join(", ", valid)})" : "";
            Error(keyNode, path, $"unknown key '{path}'{hint}");
        }
        _unknown.Clear();
    }

    /// <summary>The errors found so far as one exception (file errors in document order, then the rest), or null.</summary>
    public ConfigException? TakeException()
    {
        if (_errors.Count == 0) return null;
        var sorted = _errors.OrderBy(e => e.Line is null ? 1 : 0).ThenBy(e => e.Line ?? 0).ThenBy(e => e.Column ?? 0).ToList();
        _errors.Clear();
        return new ConfigException(sorted);
    }
}

/// <summary>
/// Reads one YAML mapping against a fixed set of keys. Every key read is registered as valid; <see cref="Done"/>
/// reports the remaining keys as unknown. Values are converted by the schema's <see cref="KeyType"/>s.
/// </summary>
internal sealed class MapReader
{
    readonly BindContext _ctx;
    readonly YamlMappingNode? _map;
    readonly List<string> _known = [];

    public MapReader(BindContext ctx, string path, YamlNode? node)
    {
        _ctx = ctx;
        Path = path;
        Node = node;
        if (node is YamlMappingNode m) _map = m;
        else if (node != null && !YamlScalars.IsNull(node))
            ctx.Error(node, path.Length == 0 ? null : path, $"'{(path.Length == 0 ? "<root>" : path)}' must be a mapping, found {YamlScalars.Describe(node)}");
    }

    public string Path { get; }
    public YamlNode? Node { get; }
    public BindContext Context => _ctx;

    public string Full(string key) => Path.Length == 0 ? key : Path + "." + key;

    /// <summary>The value node of a key (null when absent); registers the key as valid.</summary>
    public YamlNode? Get(string key)
    {
        _known.Add(key);
        _ctx.KnownPaths.Add(Full(key));
        if (_map == null) return null;
        foreach (var (k, v) in _map.Children)
            if (k is YamlScalarNode { Value: var name } && name == key)
            {
                _ctx.ValueNodes[Full(key)] = v;
                return v;
            }
        return null;
    }

    public void Done()
    {
        if (_map == null) return;
        foreach (var (k, _) in _map.Children)
        {
            if (k is not YamlScalarNode s) _ctx.Error(k, Path, $"keys of '{Path}' must be plain names, found {YamlScalars.Describe(k)}");
            else if (!_known.Contains(s.Value ?? "")) _ctx.Unknown(Full(s.Value ?? ""), k, _known);
        }
    }

    void TypeError(YamlNode node, string key, string what) =>
        _ctx.Error(node, key, $"'{key}' must be {what}, found {YamlScalars.Describe(node)}");

    public string? StringOrNull(string key, string? fallback)
    {
        var node = Get(key);
        if (node == null) return fallback;
        if (YamlScalars.IsNull(node)) return null;
        if (YamlScalars.TryString(node, out string v)) return v;
        TypeError(node, Full(key), "a string or null");
        return fallback;
    }

    /// <summary>A key that must be present and non-null; reports "missing required key" at the enclosing mapping.</summary>
    public YamlNode? Required(string key)
    {
        var node = Get(key);
        if (node == null || YamlScalars.IsNull(node))
        {
            _ctx.Error(node ?? Node, Full(key), $"missing required key '{Full(key)}'");
            return null;
        }
        return node;
    }

    /// <summary>Binds a nested mapping with its own reader and reports its unknown keys.</summary>
    public T Section<T>(string key, Func<MapReader, T> bind)
    {
        var reader = new MapReader(_ctx, Full(key), Get(key));
        T result = bind(reader);
        reader.Done();
        return result;
    }
}
