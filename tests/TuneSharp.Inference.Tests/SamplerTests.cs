using TuneSharp.Inference;
using Xunit;

namespace TuneSharp.Inference.Tests;

public class SamplerTests
{
    [Fact]
    public void Greedy_PicksTheArgMax_AfterRepetitionPenalty()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 0, RepetitionPenalty = 2.0 });
        // token 1 leads (4.0) but was seen: 4.0 / 2 = 2.0 < 3.0 → token 2 wins; a negative seen logit is multiplied.
        Assert.Equal(2, sampler.Next([0f, 4f, 3f], new HashSet<int> { 1 }));
        var logits = new[] { -1f, 0.5f };
        sampler.Next(logits, new HashSet<int> { 0 });
        Assert.Equal(-2f, logits[0]);
    }

    [Fact]
    public void TopK1_And_TinyTopP_AreGreedy()
    {
        var logits = new[] { 0.1f, 2f, 1.9f, -3f };
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.Equal(1, new Sampler(new SamplingOptions { TopK = 1, Seed = seed }).Next((float[])logits.Clone(), null));
            Assert.Equal(1, new Sampler(new SamplingOptions { TopP = 0.01, Seed = seed }).Next((float[])logits.Clone(), null));
        }
    }

    [Fact]
    public void MinP_RemovesUnlikelyTokens()
    {
        // probs ~ [0.5, 0.5, ~0]: min_p 0.1 must never pick token 2.
        var logits = new[] { 5f, 5f, -5f };
        var sampler = new Sampler(new SamplingOptions { MinP = 0.1, Seed = 3 });
        var picks = Enumerable.Range(0, 200).Select(_ => sampler.Next((float[])logits.Clone(), null)).ToList();
        Assert.DoesNotContain(2, picks);
        Assert.Contains(0, picks);
        Assert.Contains(1, picks);
    }

    [Fact]
    public void Sampling_FollowsTheSoftmaxDistribution()
    {
        // logits ln(1), ln(3): p = [0.25, 0.75]; 4000 draws → 3 sigma ≈ 0.021.
        var logits = new[] { 0f, MathF.Log(3f) };
        var sampler = new Sampler(new SamplingOptions { Seed = 11 });
        int ones = Enumerable.Range(0, 4000).Count(_ => sampler.Next((float[])logits.Clone(), null) == 1);
        Assert.InRange(ones / 4000.0, 0.75 - 0.021, 0.75 + 0.021);
    }

    [Theory]
    [InlineData(-1.0, 1.0, 0)]
    [InlineData(1.0, 0.0, 0)]
    [InlineData(1.0, 1.0, -2)]
    public void InvalidOptions_AreRejected(double temperature, double topP, int topK)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new Sampler(new SamplingOptions { Temperature = temperature, TopP = topP, TopK = topK }));
    }
}
