using System.Text.Json.Nodes;
using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.ModelClient;
using TuneSharp.Graders.Similarity;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// OpenAI's text_similarity: the score is the metric in [0, 1] (see <see cref="SimilarityMetrics"/>); with
/// <c>pass_threshold</c>, passed = score &gt;= threshold. <c>cosine</c> embeds both texts through the configured
/// embeddings endpoint.
/// </summary>
internal sealed class TextSimilarityGrader(TextSimilarityDefinition def, GraderTemplate input, GraderTemplate reference,
    EmbeddingsClient? embeddings) : IGrader
{
    public string Name => def.Name;

    public Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default) =>
        Results.Guard(Name, 0, async () =>
        {
            string a = input.Render(context), b = reference.Render(context);
            double score = def.Metric switch
            {
                SimilarityMetric.FuzzyMatch => SimilarityMetrics.FuzzyRatio(a, b),
                SimilarityMetric.Bleu => SimilarityMetrics.Bleu(a, b),
                SimilarityMetric.Gleu => SimilarityMetrics.Gleu(a, b),
                SimilarityMetric.Rouge1 => SimilarityMetrics.RougeN(a, b, 1),
                SimilarityMetric.Rouge2 => SimilarityMetrics.RougeN(a, b, 2),
                SimilarityMetric.Rouge3 => SimilarityMetrics.RougeN(a, b, 3),
                SimilarityMetric.Rouge4 => SimilarityMetrics.RougeN(a, b, 4),
                SimilarityMetric.Rouge5 => SimilarityMetrics.RougeN(a, b, 5),
                SimilarityMetric.RougeL => SimilarityMetrics.RougeL(a, b),
                SimilarityMetric.Exact => SimilarityMetrics.Exact(a, b),
                SimilarityMetric.Cosine => await Cosine(a, b, cancellationToken).ConfigureAwait(false),
                _ => throw new NotSupportedException($"{Name}: evaluation_metric {def.Metric} is not implemented"),
            };
            return new GradeResult
            {
                Name = Name, Score = score, Passed = def.PassThreshold is { } t ? score >= t : null,
                Details = new JsonObject { ["evaluation_metric"] = GraderFactory.MetricName(def.Metric), ["input"] = a, ["reference"] = b },
            };
        });

    async Task<double> Cosine(string a, string b, CancellationToken ct)
    {
        var vectors = await embeddings!.EmbedAsync([a, b], ct).ConfigureAwait(false);
        return SimilarityMetrics.Cosine(vectors[0], vectors[1]);
    }
}
