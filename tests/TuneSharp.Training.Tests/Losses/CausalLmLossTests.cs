using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Tests.Optim;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>The chunked fused loss against the plain full-logits reference (TorchSharp cross_entropy).</summary>
public sealed class CausalLmLossTests
{
    const int B = 2, T = 7, H = 16, V = 40;

    static (Parameter Hidden, Parameter Weight, Tensor Labels) Inputs(int seed, double ignoredFraction, ScalarType dtype = ScalarType.Float32)
    {
        torch.manual_seed(seed);
        var hidden = new Parameter(torch.randn(B, T, H).to(dtype));
        var weight = new Parameter((torch.randn(V, H) * 0.5).to(dtype));
        var labels = torch.randint(0, V, [B, T], dtype: ScalarType.Int64);
        var ignore = torch.rand(B, T).lt(ignoredFraction);
        labels.masked_fill_(ignore, CausalLmLoss.IgnoreIndex);
        return (hidden, weight, labels);
    }

    static (float Loss, long Count, Tensor GradHidden, Tensor GradWeight) Run(Func<Tensor, Tensor, Tensor, LossSum> loss,
        Parameter hidden, Parameter weight, Tensor labels)
    {
        hidden.grad = null;
        weight.grad = null;
        var (sum, count) = loss(hidden, weight, labels);
        sum.backward();
        return (sum.item<float>(), count, hidden.grad!.clone(), weight.grad!.clone());
    }

    [Theory]
    [InlineData(1, 0.0, 1024)]
    [InlineData(2, 0.4, 3)]      // chunks of 3 rows, last chunk partial, ignored tokens
    [InlineData(3, 0.4, 1)]
    public void Chunked_EqualsReference_ValueAndGradients_Fp32(int seed, double ignored, int chunkRows)
    {
        var (hidden, weight, labels) = Inputs(seed, ignored);
        var reference = Run(CausalLmLoss.Reference, hidden, weight, labels);
        var chunked = Run((h, w, l) => CausalLmLoss.Compute(h, w, l, chunkRows), hidden, weight, labels);

        Assert.Equal(reference.Count, chunked.Count);
        Assert.Equal(labels.ne(CausalLmLoss.IgnoreIndex).sum().item<long>(), chunked.Count);
        Assert.Equal(reference.Loss, chunked.Loss, Math.Abs(reference.Loss) * 1e-5);
        TensorAssert.Close(reference.GradHidden, chunked.GradHidden, 1e-5, 1e-5, "d loss / d hidden");
        TensorAssert.Close(reference.GradWeight, chunked.GradWeight, 1e-5, 1e-5, "d loss / d weight");
        if (ignored > 0)   // ignored positions receive exactly zero gradient
        {
            var ignoredRows = labels.eq(CausalLmLoss.IgnoreIndex).unsqueeze(-1).expand(B, T, H);
            Assert.Equal(0.0, chunked.GradHidden.masked_select(ignoredRows).abs().sum().item<float>());
        }
    }

    [Fact]
    public void Chunked_ScalesGradientsByUpstreamGradient()
    {
        var (hidden, weight, labels) = Inputs(4, 0.2);
        var plain = Run((h, w, l) => CausalLmLoss.Compute(h, w, l, 4), hidden, weight, labels);
        var scaled = Run((h, w, l) => { var r = CausalLmLoss.Compute(h, w, l, 4); return r with { SumLoss = r.SumLoss * 0.25 }; },
            hidden, weight, labels);
        TensorAssert.Close(plain.GradHidden * 0.25, scaled.GradHidden, 1e-7, 1e-6, "scaled d/d hidden");
        TensorAssert.Close(plain.GradWeight * 0.25, scaled.GradWeight, 1e-7, 1e-6, "scaled d/d weight");
    }

    [Fact]
    public void AllIgnored_SumZero_CountZero_NoNaN_BackwardWorks()
    {
        var (hidden, weight, _) = Inputs(5, 0.0);
        using var labels = torch.full([B, T], CausalLmLoss.IgnoreIndex, ScalarType.Int64);
        var chunked = Run((h, w, l) => CausalLmLoss.Compute(h, w, l, 4), hidden, weight, labels);
        Assert.Equal(0f, chunked.Loss);
        Assert.Equal(0, chunked.Count);
        Assert.Equal(0f, chunked.GradHidden.abs().sum().item<float>());
        Assert.Equal(0f, chunked.GradWeight.abs().sum().item<float>());
        Assert.Equal(0f, CausalLmLoss.Reference(hidden, weight, labels).SumLoss.item<float>());
    }

    [Fact]
    public void Bf16_CloseToFp32Reference()
    {
        // bf16 has 8 bits of mantissa: logits carry ~0.4% relative error, so the tolerance is loose (2% of the
        // loss, gradients within 0.02 + 5% of the fp32 values).
        var (h32, w32, labels) = Inputs(6, 0.3);
        using var h16 = new Parameter(h32.detach().to(ScalarType.BFloat16));
        using var w16 = new Parameter(w32.detach().to(ScalarType.BFloat16));
        var reference = Run(CausalLmLoss.Reference, h16, w16, labels);
        var chunked = Run((h, w, l) => CausalLmLoss.Compute(h, w, l, 5), h16, w16, labels);
        Assert.Equal(ScalarType.BFloat16, chunked.GradHidden.dtype);
        Assert.Equal(ScalarType.BFloat16, chunked.GradWeight.dtype);
        Assert.Equal(reference.Loss, chunked.Loss, Math.Abs(reference.Loss) * 0.02);
        TensorAssert.Close(reference.GradHidden, chunked.GradHidden, 0.02, 0.05, "bf16 d/d hidden");
        TensorAssert.Close(reference.GradWeight, chunked.GradWeight, 0.02, 0.05, "bf16 d/d weight");
        // And the bf16 chunked loss is near the fp32 loss of the same (rounded) inputs.
        var fp32 = CausalLmLoss.Reference(h16.to(ScalarType.Float32), w16.to(ScalarType.Float32), labels);
        Assert.Equal(fp32.SumLoss.item<float>(), chunked.Loss, Math.Abs(chunked.Loss) * 0.02);
    }

    [Fact]
    public void FrozenWeight_GetsNoGradient_HiddenStillDoes()
    {
        var (hidden, weight, labels) = Inputs(7, 0.2);
        weight.requires_grad = false;
        var (sum, _) = CausalLmLoss.Compute(hidden, weight, labels, 4);
        sum.backward();
        Assert.Null(weight.grad);
        Assert.NotNull(hidden.grad);
    }

    [Fact]
    public void UnderNoGrad_ReturnsTheSameValue()
    {
        var (hidden, weight, labels) = Inputs(8, 0.2);
        float withGrad = CausalLmLoss.Compute(hidden, weight, labels, 4).SumLoss.item<float>();
        using var noGrad = torch.no_grad();
        var r = CausalLmLoss.Compute(hidden, weight, labels, 4);
        Assert.False(r.SumLoss.requires_grad);
        Assert.Equal(withGrad, r.SumLoss.item<float>());
    }

    [Fact]
    public void GradientAccumulation_SumOverMicroBatchesDividedByStepTokens_EqualsFullBatchMean()
    {
        var (hidden, weight, labels) = Inputs(9, 0.3);
        // Full batch: mean over all trained tokens.
        var full = Run((h, w, l) => { var r = CausalLmLoss.Reference(h, w, l); return r with { SumLoss = r.SumLoss / r.TokenCount }; },
            hidden, weight, labels);
        // Two micro-batches (one row each, different token counts), each divided by the step's total count.
        long stepTokens = labels.ne(CausalLmLoss.IgnoreIndex).sum().item<long>();
        hidden.grad = null; weight.grad = null;
        float total = 0;
        for (int b = 0; b < B; b++)
        {
            var (sum, _) = CausalLmLoss.Compute(hidden.narrow(0, b, 1), weight, labels.narrow(0, b, 1), 3);
            var part = sum / stepTokens;
            part.backward();
            total += part.item<float>();
        }
        Assert.Equal(full.Loss, total, 1e-5);
        TensorAssert.Close(full.GradHidden, hidden.grad!, 1e-6, 1e-5, "accumulated d/d hidden");
        TensorAssert.Close(full.GradWeight, weight.grad!, 1e-6, 1e-5, "accumulated d/d weight");
    }

    [Fact]
    public void Score_MatchesReferenceLossAndArgmaxOfFullLogits()
    {
        var (hidden, weight, labels) = Inputs(10, 0.3);
        // Make some predictions right: set labels to the argmax at every other trained position.
        using var argmax = nn.functional.linear(hidden, weight).argmax(-1);          // [B, T]
        var pick = torch.arange(B * T).reshape(B, T).remainder(2).eq(0).logical_and(labels.ne(CausalLmLoss.IgnoreIndex));
        labels = torch.where(pick, argmax, labels);
        var trained = labels.ne(CausalLmLoss.IgnoreIndex);
        long expectedCorrect = argmax.eq(labels).logical_and(trained).sum().item<long>();

        var (sum, correct, count) = CausalLmLoss.Score(hidden, weight, labels, chunkRows: 3);
        Assert.Equal(trained.sum().item<long>(), count);
        // Same loss as the full-logits reference (fp32 sums in a different order: 1e-5 relative).
        float reference = CausalLmLoss.Reference(hidden, weight, labels).SumLoss.item<float>();
        Assert.Equal(reference, sum, Math.Abs(reference) * 1e-5);
        Assert.Equal(expectedCorrect, correct);
        Assert.True(correct >= pick.sum().item<long>());
    }

    [Theory]
    [InlineData(512, 1024)]      // small vocabularies: the cap
    [InlineData(32000, 1024)]    // llama2: 33.5M / 32000 = 1048 -> 1024
    [InlineData(49152, 640)]     // SmolLM2: 682 -> 640
    [InlineData(151936, 192)]    // Qwen2.5: 220 -> 192
    [InlineData(1_000_000, 64)]  // the floor
    public void ChunkRows_KeepAChunkNear32MLogits(long vocab, int expected) =>
        Assert.Equal(expected, CausalLmLoss.ChunkRowsFor(vocab));

    [Fact]
    public void ShiftLabels_MovesTargetsLeftAndPadsWithIgnore()
    {
        using var labels = torch.tensor(new long[] { 5, 6, 7, -100, 9, 10 }).reshape(2, 3);
        using var shifted = CausalLmLoss.ShiftLabels(labels);
        Assert.Equal(new long[] { 6, 7, -100, 9, 10, -100 }, shifted.data<long>().ToArray());
    }

    [Fact]
    public void LabelOutsideVocabulary_Throws()
    {
        var (hidden, weight, labels) = Inputs(11, 0.0);
        labels[0, 0] = torch.tensor(V);
        var e = Assert.Throws<ArgumentException>(() => CausalLmLoss.Compute(hidden, weight, labels));
        Assert.Contains($"label {V}", e.Message);
    }
}
