using System.Text.Json.Nodes;
using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// OpenAI's string_check: eq (input equals reference), ne (differs), like (input contains reference), all
/// case-sensitive, and ilike (contains, ignoring case). Score 1 when the operation holds, else 0. No trimming or
/// other normalisation: exactly the rendered strings are compared.
/// </summary>
internal sealed class StringCheckGrader(StringCheckDefinition def, GraderTemplate input, GraderTemplate reference) : IGrader
{
    public string Name => def.Name;

    public Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default) =>
        Results.Guard(Name, 0, () =>
        {
            string a = input.Render(context), b = reference.Render(context);
            bool ok = def.Operation switch
            {
                StringCheckOperation.Eq => string.Equals(a, b, StringComparison.Ordinal),
                StringCheckOperation.Ne => !string.Equals(a, b, StringComparison.Ordinal),
                StringCheckOperation.Like => a.Contains(b, StringComparison.Ordinal),
                StringCheckOperation.Ilike => a.Contains(b, StringComparison.OrdinalIgnoreCase),
                _ => throw new InvalidOperationException(def.Operation.ToString()),
            };
            return Results.Binary(Name, ok, new JsonObject
            {
                ["operation"] = def.Operation.ToString().ToLowerInvariant(), ["input"] = a, ["reference"] = b,
            });
        });
}
