using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// TuneSharp's regex grader: 1 when <c>pattern</c> (.NET syntax) is found in the rendered input (<c>match: search</c>,
/// the default) or matches all of it (<c>match: full</c>), else 0. The pattern may hold templates
/// (<c>\b{{ item.answer }}\b</c>): substituted values are regex-escaped, so they match literally. <c>flags</c>: i
/// (ignore case), m (multiline ^ $), s (dot matches newline), x (ignore pattern whitespace). A match that exceeds
/// <c>timeout_ms</c> (default 100) is an errored result scored 0, so a catastrophic pattern cannot stall grading.
/// </summary>
internal sealed class RegexGrader(RegexDefinition def, GraderTemplate input, GraderTemplate pattern, RegexOptions options) : IGrader
{
    // A pattern without templates is compiled once; a templated one per sample (after escaping the values).
    readonly Regex? _fixed = pattern.HasReferences ? null : Compile(pattern.Source, def, options);

    public string Name => def.Name;

    /// <summary>Checks flags and pattern (templates replaced by a placeholder) now; returns the parsed pattern and options.</summary>
    public static (GraderTemplate Pattern, RegexOptions Options) Build(RegexDefinition def, string path)
    {
        var options = RegexOptions.CultureInvariant;
        foreach (char f in def.Flags)
            options |= f switch
            {
                'i' => RegexOptions.IgnoreCase,
                'm' => RegexOptions.Multiline,
                's' => RegexOptions.Singleline,
                'x' => RegexOptions.IgnorePatternWhitespace,
                _ => throw new GraderDefinitionException(Key(path, "flags"), $"unknown flag '{f}' (flags: i, m, s, x)"),
            };
        var pattern = GraderTemplate.Parse(def.Pattern, Key(path, "pattern"));
        try
        {
            Compile(pattern.WithPlaceholders("x"), def, options);
        }
        catch (ArgumentException e)
        {
            throw new GraderDefinitionException(Key(path, "pattern"), $"invalid regular expression: {e.Message}");
        }
        return (pattern, options);
    }

    static Regex Compile(string pattern, RegexDefinition def, RegexOptions options) =>
        new(def.Match == RegexMatchMode.Full ? $@"\A(?:{pattern})\z" : pattern, options, def.Timeout);

    static string Key(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default) =>
        Results.Guard(Name, 0, () =>
        {
            string text = input.Render(context);
            var regex = _fixed ?? Compile(pattern.Render(context, Regex.Escape), def, options);
            var details = new JsonObject { ["input"] = text, ["pattern"] = regex.ToString() };
            Match m;
            try
            {
                m = regex.Match(text);
            }
            catch (RegexMatchTimeoutException)
            {
                return new GradeResult
                {
                    Name = Name, Score = 0, Passed = false, Details = details,
                    Error = $"{Name}: the pattern did not finish within {def.Timeout.TotalMilliseconds:0} ms on this input",
                };
            }
            if (m.Success) details["match"] = m.Value;
            return Results.Binary(Name, m.Success, details);
        });
}
