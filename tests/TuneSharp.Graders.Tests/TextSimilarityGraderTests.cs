namespace TuneSharp.Graders.Tests;

/// <summary>text_similarity through the grader: templated inputs, the metric as score, pass_threshold semantics.</summary>
public class TextSimilarityGraderTests
{
    static IGrader Similarity(string metric, string? threshold = null) => Support.Grader(
        $$$"""{"type":"text_similarity","name":"sim","input":"{{ sample.output_text }}","reference":"{{ item.ref }}","evaluation_metric":"{{{metric}}}"{{{(threshold == null ? "" : $",\"pass_threshold\":{threshold}")}}}}""");

    [Fact]
    public async Task FuzzyMatch_ScoreIsTheRatio_PassedAtOrAboveThreshold()
    {
        var r = await Similarity("fuzzy_match", "0.6").Grade("""{"ref":"sitting"}""", "kitten");
        Assert.Equal(8.0 / 13, r.Score, 12);
        Assert.True(r.Passed);                                            // 0.615 >= 0.6
        Assert.False((await Similarity("fuzzy_match", "0.62").Grade("""{"ref":"sitting"}""", "kitten")).Passed);
        Assert.True((await Similarity("fuzzy_match", "1").Grade("""{"ref":"same"}""", "same")).Passed); // >= includes equality
        Assert.Null((await Similarity("fuzzy_match").Grade("""{"ref":"sitting"}""", "kitten")).Passed); // no threshold, no verdict
        Assert.Equal("fuzzy_match", (string?)r.Details["evaluation_metric"]);
    }

    [Theory]
    [InlineData("bleu")]
    [InlineData("gleu")]
    [InlineData("rouge_1")]
    [InlineData("rouge_2")]
    [InlineData("rouge_3")]
    [InlineData("rouge_4")]
    [InlineData("rouge_5")]
    [InlineData("rouge_l")]
    [InlineData("exact")]
    public async Task EveryMetric_IdenticalTextScoresOne_DisjointScoresZero(string metric)
    {
        var g = Similarity(metric, "0.5");
        var same = await g.Grade("""{"ref":"the cat sat on the mat today"}""", "the cat sat on the mat today");
        var other = await g.Grade("""{"ref":"the cat sat on the mat today"}""", "quantum chromodynamics explained");
        Assert.Equal(1.0, same.Score, 12);
        Assert.True(same.Passed);
        Assert.Equal(0.0, other.Score, 12);
        Assert.False(other.Passed);
        Assert.Equal(metric, (string?)same.Details["evaluation_metric"]);
    }
}
