using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TuneSharp.Graders.Templating;

/// <summary>
/// OpenAI's grader templating: every <c>{{ namespace.path }}</c> in a string is replaced by a value. Namespaces are
/// <c>item</c> (the dataset row) and <c>sample</c> (<c>output_text</c>, <c>output_json</c>); paths are dotted keys with
/// optional array indexes (<c>item.choices[0].text</c> or <c>item.choices.0.text</c>). This is substitution, not a
/// template language (no filters, loops or code), so a dedicated renderer is used instead of the Jinja engine: it
/// fails loudly on a missing key (Jinja renders an undefined as empty text, which would silently grade against ""),
/// renders objects as JSON rather than Python reprs, and keeps this library free of the data/tokenizer packages.
/// Strings render as-is; numbers, booleans, null, objects and arrays render as compact JSON.
/// </summary>
public sealed class GraderTemplate
{
    readonly IReadOnlyList<Segment> _segments;

    GraderTemplate(string source, IReadOnlyList<Segment> segments)
    {
        Source = source;
        _segments = segments;
    }

    public string Source { get; }

    /// <summary>Parses <paramref name="source"/>; <paramref name="keyPath"/> names the definition key in errors.</summary>
    public static GraderTemplate Parse(string source, string keyPath)
    {
        var segments = new List<Segment>();
        int pos = 0;
        while (pos < source.Length)
        {
            int open = source.IndexOf("{{", pos, StringComparison.Ordinal);
            if (open < 0) { segments.Add(new Segment(source[pos..], null)); break; }
            if (open > pos) segments.Add(new Segment(source[pos..open], null));
            int close = source.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0) throw new GraderDefinitionException(keyPath, $"'{{{{' at offset {open} has no closing '}}}}' in \"{source}\"");
            string expr = source[(open + 2)..close].Trim();
            segments.Add(new Segment(null, TemplatePath.Parse(expr, keyPath)));
            pos = close + 2;
        }
        return new GraderTemplate(source, segments);
    }

    /// <summary>True when the template has at least one <c>{{ }}</c>.</summary>
    public bool HasReferences => _segments.Any(s => s.Path != null);

    /// <summary>Renders for one sample. A key missing from the item throws <see cref="GraderTemplateException"/>.</summary>
    public string Render(GraderContext context) => Render(context, null);

    /// <summary>Renders with every substituted value passed through <paramref name="escape"/> (e.g. Regex.Escape).</summary>
    public string Render(GraderContext context, Func<string, string>? escape)
    {
        if (_segments.Count == 1 && _segments[0].Path == null) return _segments[0].Text!;
        var sb = new StringBuilder();
        foreach (var s in _segments)
        {
            if (s.Path == null) { sb.Append(s.Text); continue; }
            string value = ValueText(s.Path.Resolve(context, Source));
            sb.Append(escape == null ? value : escape(value));
        }
        return sb.ToString();
    }

    /// <summary>The template with every reference replaced by <paramref name="placeholder"/> (to validate the fixed parts).</summary>
    internal string WithPlaceholders(string placeholder) => string.Concat(_segments.Select(s => s.Path == null ? s.Text : placeholder));

    internal static string ValueText(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : JsonSerializer.Serialize(value, Compact);

    static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    sealed record Segment(string? Text, TemplatePath? Path);
}
