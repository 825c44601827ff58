using TuneSharp.Eval.Metrics;
using TuneSharp.Eval.Tasks;
using Xunit;

namespace TuneSharp.Eval.Tests;

/// <summary>Metrics and aggregations, with values worked out by hand.</summary>
public sealed class AggregateTests
{
    [Fact]
    public void MeanStderr_Uses_The_Sample_Standard_Deviation()
    {
        // [1, 0, 1, 1]: mean 0.75, sample variance (3 * 0.0625 + 0.5625) / 3 = 0.25, stderr sqrt(0.25) / 2 = 0.25.
        Assert.Equal(0.25, Aggregate.MeanStderr([1, 0, 1, 1])!.Value, 12);
        Assert.Null(Aggregate.MeanStderr([1]));
    }

    [Fact]
    public void Pooled_Stderr_Of_A_Group_Matches_The_Harness_Formula()
    {
        // sizes 4 and 2, stderrs 0.25 and 0.5: pooled var = (3 * 0.0625 * 4 + 1 * 0.25 * 2) / (6 - 2) = 0.3125.
        Assert.Equal(Math.Sqrt(0.3125 / 6), Aggregate.PooledStderr([0.25, 0.5], [4, 2])!.Value, 12);
        Assert.Equal((0.75 * 4 + 0.5 * 2) / 6, Aggregate.WeightedMean([0.75, 0.5], [4, 2]), 12);
    }

    [Fact]
    public void Acc_And_AccNorm_Pick_Different_Choices_When_Lengths_Differ()
    {
        var doc = new McDoc("q", ["a", "a much longer answer"], Gold: 1);
        double[] lls = [-2.0, -4.0];                       // raw: choice 0; per character: -2 vs -0.2 -> choice 1
        Assert.Equal(0, MultipleChoiceTask.Score(McMetric.Acc, doc, lls));
        Assert.Equal(1, MultipleChoiceTask.Score(McMetric.AccNorm, doc, lls));
        Assert.Equal(2, MultipleChoiceTask.CharLength("é😀"));  // Python's len: code points
        Assert.Equal(0, MultipleChoiceTask.ArgMax([1.0, 1.0])); // ties go to the first, as np.argmax
    }

    [Fact]
    public void Mc2_Is_The_Probability_Mass_Of_The_True_Answers()
    {
        double[] lls = [Math.Log(0.2), Math.Log(0.1), Math.Log(0.3)]; // two true, one false
        Assert.Equal(0.3 / 0.6, MultipleChoiceTask.Mc2(lls, 2), 12);
        Assert.Equal(0.5, MultipleChoiceTask.Mc2([-2000, -2000], 1), 12); // no underflow to 0/0
    }
}
