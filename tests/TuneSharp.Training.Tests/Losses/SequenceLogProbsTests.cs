using TorchSharp;
using TuneSharp.Testing;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Tests.Optim;
using Xunit;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>Chunked per-sequence log-probabilities against the plain full-logits computation (log_softmax + gather).</summary>
public sealed class SequenceLogProbsTests
{
    const int B = 3, T = 9, H = 16, V = 40;

    static (Parameter Hidden, Parameter Weight, Tensor Labels) Inputs(int seed, double ignoredFraction, ScalarType dtype = ScalarType.Float32)
    {
        torch.manual_seed(seed);
        var hidden = new Parameter(torch.randn(B, T, H).to(dtype));
        var weight = new Parameter((torch.randn(V, H) * 0.5).to(dtype));
        var labels = torch.randint(0, V, [B, T], dtype: ScalarType.Int64);
        labels.masked_fill_(torch.rand(B, T).lt(ignoredFraction), CausalLmLoss.IgnoreIndex);
        return (hidden, weight, labels);
    }

    /// <summary>Sums, counts, and the gradients of sum_s u_s * logp_s for fixed random weights u (so every sequence's
    /// gradient is scaled differently, as in a preference loss).</summary>
    static (Tensor Sum, Tensor Count, Tensor GradHidden, Tensor GradWeight) Run(Func<SequenceScores> compute,
        Parameter hidden, Parameter weight, Tensor upstream)
    {
        hidden.grad = null;
        weight.grad = null;
        var scores = compute();
        (scores.LogProbSum * upstream).sum().backward();
        return (scores.LogProbSum.detach().clone(), scores.TokenCount.clone(), hidden.grad!.clone(), weight.grad!.clone());
    }

    [Theory]
    [InlineData(1, 0.0, 1024)]
    [InlineData(2, 0.4, 3)]   // chunks of 3 rows, the last one partial, ignored tokens
    [InlineData(3, 0.5, 1)]
    public void Chunked_EqualsPlain_ValuesAndGradients_Fp32(int seed, double ignored, int chunkRows)
    {
        var (hidden, weight, labels) = Inputs(seed, ignored);
        var upstream = torch.randn(B);
        var plain = Run(() => SequenceLogProbs.Reference(hidden, weight, labels), hidden, weight, upstream);
        var chunked = Run(() => SequenceLogProbs.Compute(hidden, weight, labels, chunkRows: chunkRows), hidden, weight, upstream);

        Assert.Equal(labels.ne(CausalLmLoss.IgnoreIndex).sum(1).data<long>().ToArray(), chunked.Count.data<long>().ToArray());
        Assert.Equal(plain.Count.data<long>().ToArray(), chunked.Count.data<long>().ToArray());
        // fp32 sums of the same terms in another order: relative 1e-5.
        TensorAssert.Close(plain.Sum, chunked.Sum, 1e-5, 1e-5, "log p per sequence");
        TensorAssert.Close(plain.GradHidden, chunked.GradHidden, 1e-5, 1e-5, "d/d hidden");
        TensorAssert.Close(plain.GradWeight, chunked.GradWeight, 1e-5, 1e-5, "d/d weight");
    }

    [Fact]
    public void SumOverSequences_IsMinusTheCausalLmLoss()
    {
        var (hidden, weight, labels) = Inputs(4, 0.3);
        using var noGrad = torch.no_grad();
        float logp = SequenceLogProbs.Compute(hidden, weight, labels, chunkRows: 5).LogProbSum.sum().item<float>();
        float loss = CausalLmLoss.Compute(hidden, weight, labels, 5).SumLoss.item<float>();
        Assert.Equal(-loss, logp, Math.Abs(loss) * 1e-5);
    }

    [Fact]
    public void PackedSegments_EqualEachSegmentScoredAlone()
    {
        // Row 0 holds sequences 0 and 1, row 1 sequence 2, row 2 sequences 3 and 4; positions without a label may carry any slot.
        var (hidden, weight, labels) = Inputs(5, 0.2);
        long[,] slots =
        {
            { 0, 0, 0, 0, 1, 1, 1, 1, 1 },
            { 2, 2, 2, 2, 2, 2, 2, 2, 2 },
            { 3, 3, 4, 4, 4, 4, 4, 4, 4 },
        };
        var index = torch.tensor(slots);
        var upstream = torch.randn(5);
        var packed = Run(() => SequenceLogProbs.Compute(hidden, weight, labels, index, 5, chunkRows: 4), hidden, weight, upstream);
        var plain = Run(() => SequenceLogProbs.Reference(hidden, weight, labels, index, 5), hidden, weight, upstream);
        TensorAssert.Close(plain.Sum, packed.Sum, 1e-5, 1e-5, "packed log p");
        TensorAssert.Close(plain.GradHidden, packed.GradHidden, 1e-5, 1e-5, "packed d/d hidden");

        // Independent check of the slot arithmetic: sequence 1 = row 0, positions 4..8 alone.
        using var noGrad = torch.no_grad();
        var rowLabels = labels.narrow(0, 0, 1).clone();
        rowLabels.narrow(1, 0, 4).fill_(CausalLmLoss.IgnoreIndex);
        float alone = SequenceLogProbs.Compute(hidden.narrow(0, 0, 1), weight, rowLabels).LogProbSum.item<float>();
        Assert.Equal(alone, packed.Sum[1].item<float>(), Math.Abs(alone) * 1e-5 + 1e-6);
        Assert.Equal(rowLabels.ne(CausalLmLoss.IgnoreIndex).sum().item<long>(), packed.Count[1].item<long>());
    }

    [Fact]
    public void Bf16_StaysCloseToTheFp32Result()
    {
        var (hidden, weight, labels) = Inputs(6, 0.2);
        var upstream = torch.randn(B);
        var fp32 = Run(() => SequenceLogProbs.Reference(hidden, weight, labels), hidden, weight, upstream);
        var h16 = new Parameter(hidden.detach().to(ScalarType.BFloat16));
        var w16 = new Parameter(weight.detach().to(ScalarType.BFloat16));
        var bf16 = Run(() => SequenceLogProbs.Compute(h16, w16, labels, chunkRows: 4), h16, w16, upstream);
        // bf16 logits carry ~3 significant digits: per token |error| <~ 0.05 for logits of size ~3; 9 tokens per sequence.
        TensorAssert.Close(fp32.Sum, bf16.Sum, 0.3, 0.02, "bf16 log p");
        Assert.Equal(ScalarType.BFloat16, bf16.GradHidden.dtype);
    }

    [Fact]
    public void AllIgnored_GivesZeros_AndZeroGradients()
    {
        var (hidden, weight, _) = Inputs(7, 0);
        var labels = torch.full([B, T], CausalLmLoss.IgnoreIndex, ScalarType.Int64);
        var r = Run(() => SequenceLogProbs.Compute(hidden, weight, labels), hidden, weight, torch.ones(B));
        Assert.Equal(0f, r.Sum.abs().sum().item<float>());
        Assert.Equal(0L, r.Count.sum().item<long>());
        Assert.Equal(0f, r.GradHidden.abs().sum().item<float>());
    }

    [Fact]
    public void ForwardBackward_LeavesNoLiveTensors()
    {
        var (hidden, weight, labels) = Inputs(8, 0.3);
        long growth = LiveTensors.GrowthOver(20, () =>
        {
            using var scope = torch.NewDisposeScope();
            hidden.grad = null;
            weight.grad = null;
            SequenceLogProbs.Compute(hidden, weight, labels, chunkRows: 4).LogProbSum.sum().backward();
        });
        Assert.Equal(0, growth);
    }

    [Fact]
    public void BadSequenceIndex_IsAClearError()
    {
        var (hidden, weight, labels) = Inputs(9, 0);
        var ex = Assert.Throws<ArgumentException>(() => SequenceLogProbs.Compute(hidden, weight, labels, torch.zeros([B, T], ScalarType.Int32), 2));
        Assert.Contains("sequence index must be int64", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => SequenceLogProbs.Compute(hidden, weight, labels, sequences: 5));
        Assert.Contains("one per row means 3", ex.Message);
    }
}
