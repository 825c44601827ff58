using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TuneSharp.Graders.Templating;

/// <summary>One <c>namespace.key[0].key</c> reference inside <c>{{ }}</c>, resolved against a <see cref="GraderContext"/>.</summary>
internal sealed partial class TemplatePath
{
    readonly string _namespace;
    readonly string[] _keys;

    TemplatePath(string ns, string[] keys)
    {
        _namespace = ns;
        _keys = keys;
    }

    public string Text => string.Join('.', [_namespace, .. _keys]);

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_\-]*$")]
    private static partial Regex KeyRegex();

    public static TemplatePath Parse(string expr, string keyPath)
    {
        if (expr.Length == 0) throw new GraderDefinitionException(keyPath, "empty '{{ }}' in a template");
        // item.a[0].b -> item, a, 0, b
        var parts = new List<string>();
        foreach (string dotted in expr.Split('.'))
        {
            string rest = dotted;
            int bracket = rest.IndexOf('[');
            string head = bracket < 0 ? rest : rest[..bracket];
            if (head.Length > 0) parts.Add(head);
            else if (bracket != 0 || parts.Count == 0) throw Bad(expr, keyPath, "empty key");
            while (bracket >= 0)
            {
                int end = rest.IndexOf(']', bracket);
                if (end < 0) throw Bad(expr, keyPath, "'[' without ']'");
                string index = rest[(bracket + 1)..end].Trim().Trim('"', '\'');
                parts.Add(index);
                rest = rest[(end + 1)..];
                bracket = rest.Length == 0 ? -1 : rest[0] == '[' ? 0 : throw Bad(expr, keyPath, $"unexpected '{rest}'");
            }
        }
        string ns = parts[0];
        if (ns != "item" && ns != "sample")
            throw Bad(expr, keyPath, $"unknown namespace '{ns}' (the namespaces are 'item' and 'sample')");
        if (ns == "sample")
        {
            if (parts.Count < 2) throw Bad(expr, keyPath, "'sample' needs a field: sample.output_text or sample.output_json");
            if (parts[1] == "output_text" && parts.Count > 2)
                throw Bad(expr, keyPath, "sample.output_text is a string and has no fields (use sample.output_json.<field>)");
            if (parts[1] != "output_text" && parts[1] != "output_json")
                throw Bad(expr, keyPath, $"unsupported sample field '{parts[1]}' (supported: output_text, output_json)");
        }
        foreach (string p in parts.Skip(1))
            if (!KeyRegex().IsMatch(p) && !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw Bad(expr, keyPath, $"bad key '{p}'");
        return new TemplatePath(ns, [.. parts.Skip(1)]);
    }

    static GraderDefinitionException Bad(string expr, string keyPath, string why) =>
        new(keyPath, $"template '{{{{ {expr} }}}}': {why}");

    public JsonElement Resolve(GraderContext context, string source)
    {
        JsonElement current;
        int start;
        string where;
        if (_namespace == "item")
        {
            (current, start, where) = (context.Item, 0, "item");
        }
        else if (_keys[0] == "output_text")
        {
            return JsonSerializer.SerializeToElement(context.OutputText);
        }
        else
        {
            current = context.OutputJson ?? throw new SampleException(
                $"template '{source}': sample.output_json is unavailable because the model's output is not valid JSON");
            (start, where) = (1, "sample.output_json");
        }
        for (int i = start; i < _keys.Length; i++)
        {
            string key = _keys[i];
            if (!TryStep(current, key, out var next))
            {
                string message = $"template '{source}': {where} has no {Describe(current, key)}";
                // A missing key in the model's JSON is the model's fault; in the item it is the data's or the config's.
                throw _namespace == "sample" ? new SampleException(message) : new GraderTemplateException(message);
            }
            where += current.ValueKind == JsonValueKind.Array ? $"[{key}]" : "." + key;
            current = next;
        }
        return current;
    }

    static bool TryStep(JsonElement current, string key, out JsonElement next)
    {
        next = default;
        if (current.ValueKind == JsonValueKind.Object) return current.TryGetProperty(key, out next);
        if (current.ValueKind == JsonValueKind.Array && int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            && i < current.GetArrayLength())
        {
            next = current[i];
            return true;
        }
        return false;
    }

    static string Describe(JsonElement current, string key) => current.ValueKind switch
    {
        JsonValueKind.Object => $"key '{key}' (keys: {string.Join(", ", current.EnumerateObject().Select(p => p.Name).Take(20))})",
        JsonValueKind.Array => $"element [{key}] (length {current.GetArrayLength()})",
        var kind => $"key '{key}': it is {kind.ToString().ToLowerInvariant()}, not an object",
    };
}
