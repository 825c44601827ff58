using System.Text.Json.Nodes;
using TuneSharp.Graders.Formula;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// OpenAI's multi: every sub-grader grades the same sample (concurrently), then <c>calculate_output</c> combines their
/// scores by key. An errored sub-result still contributes its score; the multi result carries the first error. A
/// non-finite formula value (e.g. division by zero) is an errored result scored 0.
/// </summary>
internal sealed class MultiGrader(string name, IReadOnlyDictionary<string, IGrader> graders, FormulaExpression formula) : IGrader
{
    public string Name => name;

    public async Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default)
    {
        var keys = graders.Keys.ToArray();
        var results = await Task.WhenAll(keys.Select(k => graders[k].GradeAsync(context, cancellationToken))).ConfigureAwait(false);
        var byKey = keys.Zip(results).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        var scores = byKey.ToDictionary(kv => kv.Key, kv => kv.Value.Score, StringComparer.Ordinal);
        var details = new JsonObject
        {
            ["calculate_output"] = formula.Text,
            ["scores"] = new JsonObject(scores.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        string? error = byKey.Values.Select(r => r.Error).FirstOrDefault(e => e != null);
        try
        {
            return new GradeResult { Name = name, Score = formula.Evaluate(scores), Error = error, Details = details, SubResults = byKey };
        }
        catch (ArithmeticException e)
        {
            return new GradeResult { Name = name, Score = 0, Passed = false, Error = $"{name}: {e.Message}", Details = details, SubResults = byKey };
        }
    }
}
