using TuneSharp.Data.Curation;
using Xunit;

namespace TuneSharp.Data.Tests.Curation;

/// <summary>MinHash + LSH near-duplicate detection on crafted texts whose exact Jaccard similarity (of 5-word shingle
/// sets) the test computes itself.</summary>
public sealed class NearDuplicatesTests
{
    static string Doc(int words, int offset = 0) => string.Join(' ', Enumerable.Range(offset, words).Select(i => $"w{i}"));

    /// <summary>The base document with every k-th word replaced (k = 0: unchanged).</summary>
    static string Edited(string doc, int every) =>
        every == 0 ? doc : string.Join(' ', doc.Split(' ').Select((w, i) => i % every == every - 1 ? "x" + w : w));

    static double ExactJaccard(MinHash m, string a, string b)
    {
        var x = m.Shingles(a);
        var y = m.Shingles(b);
        return (double)x.Intersect(y).Count() / x.Union(y).Count();
    }

    [Fact]
    public void SignatureAgreement_EstimatesTheJaccardSimilarity()
    {
        var m = new MinHash();
        string a = Doc(400);
        foreach (int every in new[] { 0, 200, 60, 30, 15, 8, 4 })
        {
            string b = Edited(a, every);
            double exact = ExactJaccard(m, a, b), estimate = MinHash.Similarity(m.Signature(a), m.Signature(b));
            // 128 functions: standard error <= 0.045; 0.15 is over 3 of them.
            Assert.True(Math.Abs(exact - estimate) <= 0.15, $"every {every}: exact {exact:F3}, estimate {estimate:F3}");
        }
        Assert.Equal(m.Signature(a), new MinHash().Signature(a)); // fixed seed: reproducible
        Assert.Equal(1.0, MinHash.Similarity(m.Signature("The cat sat, on the mat!"), m.Signature("the CAT sat on the mat")));
    }

    [Fact]
    public void NearCopies_AboveTheThreshold_AreDuplicatesOfTheFirst_FarOnesAreKept()
    {
        var m = new MinHash();
        var near = new NearDuplicates(threshold: 0.8);
        Assert.Equal((16, 8), (near.Bands, near.Rows));
        string a = Doc(400);
        Assert.False(near.Add(a).Duplicate);
        int high = 0, low = 0;
        foreach (int every in new[] { 200, 100, 60, 30, 15, 8, 4, 2 })
        {
            string b = Edited(a, every);
            double exact = ExactJaccard(m, a, b);
            var verdict = near.Add(b);
            if (exact >= 0.9) { high++; Assert.True(verdict.Duplicate && verdict.Representative == 0, $"J = {exact:F3} kept"); }
            if (exact <= 0.6) { low++; Assert.False(verdict.Duplicate, $"J = {exact:F3} flagged as a duplicate of {verdict.Representative}"); }
        }
        Assert.True(high >= 2 && low >= 3, $"{high} near copies, {low} far ones: the cases must cover both sides");
    }

    [Fact]
    public void UnrelatedTexts_AreAllKept_AndExactCopiesAreDuplicates()
    {
        var near = new NearDuplicates();
        for (int i = 0; i < 200; i++) Assert.False(near.Add(Doc(60, offset: i * 60)).Duplicate, $"doc {i}");
        Assert.Equal(200, near.Kept);
        var copy = near.Add(Doc(60, offset: 37 * 60).ToUpperInvariant());
        Assert.Equal(new DuplicateVerdict(true, 37, 1.0), copy);
        Assert.Equal(200, near.Kept);
    }

    [Theory]
    [InlineData(0.5, 128)]
    [InlineData(0.7, 128)]
    [InlineData(0.9, 256)]
    public void Bands_PutTheSCurveMidpointJustBelowTheThreshold(double threshold, int size)
    {
        var (b, r) = NearDuplicates.BandsFor(threshold, size);
        Assert.True(b * r <= size);
        double mid = Math.Pow(1.0 / b, 1.0 / r);
        Assert.True(mid <= 0.9 * threshold && mid > 0.6 * threshold, $"b {b}, r {r}: midpoint {mid:F3}");
    }
}
