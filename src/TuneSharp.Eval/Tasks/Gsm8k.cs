using TuneSharp.Eval.Metrics;

namespace TuneSharp.Eval.Tasks;

/// <summary>
/// GSM8K as lm-evaluation-harness's gsm8k (v3): "Question: {question}\nAnswer:", shots "… Answer: {answer}" from the train
/// split joined by "\n\n" (5 by default), greedy until "Question:", "&lt;/s&gt;" or "&lt;|im_end|&gt;"; exact_match (case
/// ignored; ",", "$", everything up to "#### " and a final "." removed from both sides) after the strict-match filter
/// (the number after "#### ") and the flexible-extract filter (the last number in the response).
/// </summary>
public static class Gsm8k
{
    public static readonly string[] Until = ["Question:", "</s>", "<|im_end|>"];

    public static GenerationTask Task(string testPath, string? trainPath) =>
        new("gsm8k", () => Docs(testPath), Until, Scorers)
        {
            DefaultFewshot = 5,
            FewshotDocs = trainPath is null ? null : () => Docs(trainPath),
            Definition = new Dictionary<string, object?> { ["dataset_path"] = testPath, ["fewshot_split"] = trainPath },
        };

    public static IReadOnlyList<GenDoc> Docs(string path) =>
        JsonLines.Read(path).Select((row, i) =>
            new GenDoc($"Question: {row.Str("question", path, i)}\nAnswer:", row.Str("answer", path, i))).ToList();

    public static readonly IReadOnlyList<GenScorer> Scorers =
    [
        new("exact_match", "strict-match", (response, doc) => Score(AnswerFilters.RegexFilter(response, AnswerFilters.Gsm8kStrict), doc.Target)),
        new("exact_match", "flexible-extract", (response, doc) =>
            Score(AnswerFilters.RegexFilter(response, AnswerFilters.Gsm8kFlexible, groupSelect: -1), doc.Target)),
    ];

    static double Score(string extracted, string reference) =>
        AnswerFilters.ExactMatch(extracted, reference, AnswerFilters.Gsm8kIgnore, ignoreCase: true);
}
