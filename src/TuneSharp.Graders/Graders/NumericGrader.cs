using System.Text.Json.Nodes;
using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// TuneSharp's numeric grader: extracts a number from the rendered input (<see cref="NumberExtractor"/>) and scores 1
/// when |x - ref| &lt;= max(tolerance.absolute, tolerance.relative · |ref|) (math.isclose's rule; both default to 0 =
/// exact), else 0. No number in the input scores 0 (details.extracted is null). A reference that is not a number is a
/// data error (<see cref="GraderTemplateException"/>).
/// </summary>
internal sealed class NumericGrader(NumericDefinition def, GraderTemplate input, GraderTemplate reference) : IGrader
{
    public string Name => def.Name;

    public Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default) =>
        Results.Guard(Name, 0, () =>
        {
            string text = input.Render(context), refText = reference.Render(context);
            double expected = NumberExtractor.ParseLoose(refText)
                ?? throw new GraderTemplateException($"{Name}: reference '{reference.Source}' rendered to \"{refText}\", which is not a number");
            double? got = NumberExtractor.Extract(text, def.Extract);
            var details = new JsonObject
            {
                ["input"] = text, ["reference"] = expected, ["extracted"] = got, ["extract"] = def.Extract.ToString().ToLowerInvariant(),
            };
            bool ok = got is { } x && Math.Abs(x - expected) <= Math.Max(def.AbsoluteTolerance, def.RelativeTolerance * Math.Abs(expected));
            return Results.Binary(Name, ok, details);
        });
}
