using System.Text.Json.Nodes;

namespace TuneSharp.Graders;

/// <summary>
/// One grade. <see cref="Score"/> is the number OpenAI's grader returns (0/1 for checks, the metric for
/// text_similarity, the model's score for score_model, the formula's value for multi). <see cref="Passed"/> is set when
/// the grader has a pass rule (binary graders: score 1; graders with <c>pass_threshold</c>: score &gt;= threshold).
/// <see cref="Error"/> is set when the sample could not be graded (e.g. the judge's reply had no number); the score is
/// then the grader's lowest value. <see cref="Details"/> holds what the grader saw (rendered input and reference, metric
/// parts, the judge's reply) for reports.
/// </summary>
public sealed record GradeResult
{
    public required string Name { get; init; }
    public required double Score { get; init; }
    public bool? Passed { get; init; }
    public string? Error { get; init; }
    public JsonObject Details { get; init; } = [];

    /// <summary>For <c>multi</c>: each sub-grader's result by its key in <c>graders</c>.</summary>
    public IReadOnlyDictionary<string, GradeResult> SubResults { get; init; } = new Dictionary<string, GradeResult>();

    /// <summary>The result as JSON (name, score, passed, error, details, sub_results) for results files.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["name"] = Name, ["score"] = Score };
        if (Passed is { } p) o["passed"] = p;
        if (Error != null) o["error"] = Error;
        o["details"] = Details.DeepClone();
        if (SubResults.Count > 0)
            o["sub_results"] = new JsonObject(SubResults.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value.ToJson())));
        return o;
    }
}
