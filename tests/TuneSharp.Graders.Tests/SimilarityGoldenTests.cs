using System.Text.Json;
using TuneSharp.Graders.Similarity;

namespace TuneSharp.Graders.Tests;

/// <summary>
/// text_similarity metrics against goldens from tools/graders/similarity_goldens.py (nltk 3.8 for BLEU/GLEU; Python
/// implementations of rapidfuzz's ratio and rouge_score's F-measures). Tolerance 1e-12 (same float64 formulas).
/// </summary>
public class SimilarityGoldenTests
{
    const double Tol = 1e-12;

    public static TheoryData<string, string, string, double> Cases()
    {
        var data = new TheoryData<string, string, string, double>();
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "similarity-goldens.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            foreach (var p in c.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number))
                data.Add(p.Name, c.GetProperty("input").GetString()!, c.GetProperty("reference").GetString()!, p.Value.GetDouble());
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Metric_EqualsPythonReference(string metric, string input, string reference, double expected)
    {
        double got = metric switch
        {
            "fuzzy_match" => SimilarityMetrics.FuzzyRatio(input, reference),
            "bleu" => SimilarityMetrics.Bleu(input, reference),
            "gleu" => SimilarityMetrics.Gleu(input, reference),
            "rouge_l" => SimilarityMetrics.RougeL(input, reference),
            _ when metric.StartsWith("rouge_", StringComparison.Ordinal) => SimilarityMetrics.RougeN(input, reference, metric[^1] - '0'),
            _ => throw new InvalidOperationException(metric),
        };
        Assert.True(Math.Abs(got - expected) <= Tol, $"{metric}(\"{input}\", \"{reference}\") = {got:R}, python says {expected:R}");
    }

    [Fact]
    public void Goldens_CoverEveryMetricOnEveryCase()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "similarity-goldens.json")));
        var rows = doc.RootElement.GetProperty("cases").EnumerateArray()
            .SelectMany(c => c.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).Select(p => p.Name))
            .GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(["bleu", "fuzzy_match", "gleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l"], rows.Keys.Order());
        Assert.All(rows.Values, n => Assert.Equal(17, n));
    }

    [Fact]
    public void FuzzyRatio_KnownRapidfuzzValues()
    {
        // rapidfuzz: fuzz.ratio("kitten", "sitting") = 61.538..., fuzz.ratio("this is a test", "this is a test!") = 96.551...
        Assert.Equal(8.0 / 13, SimilarityMetrics.FuzzyRatio("kitten", "sitting"), 12);
        Assert.Equal(28.0 / 29, SimilarityMetrics.FuzzyRatio("this is a test", "this is a test!"), 12);
        Assert.Equal(1.0, SimilarityMetrics.FuzzyRatio("", ""));
        // Code points, not UTF-16 units: one emoji against another shares nothing, and counts once per side.
        Assert.Equal(0.0, SimilarityMetrics.FuzzyRatio("\U0001F600", "\U0001F601"));
        Assert.Equal(2.0 / 3, SimilarityMetrics.FuzzyRatio("a\U0001F600", "a"), 12);
    }

    [Fact]
    public void Exact_TrimsOnly()
    {
        Assert.Equal(1, SimilarityMetrics.Exact("  42\n", "42"));
        Assert.Equal(0, SimilarityMetrics.Exact("42.0", "42"));
        Assert.Equal(0, SimilarityMetrics.Exact("Paris", "paris"));
    }
}
