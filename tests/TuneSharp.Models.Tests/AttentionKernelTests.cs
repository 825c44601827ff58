using TuneSharp.Models;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Models.Tests;

/// <summary>
/// The fused fp32 kernels (<c>scaled_dot_product_attention</c>, causal or with the packing/window mask) against the
/// explicit kernel. Passing an all-ones key padding selects the explicit kernel without changing the mask, so the two
/// runs differ only in the kernel. Tolerances: hidden states 1e-5 absolute; gradients 1e-5 of the largest gradient
/// entry of each parameter (fp32 sums over the batch in a different order).
/// </summary>
public class AttentionKernelTests
{
    const double Tol = 1e-5;

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, 3)]
    public void FusedKernels_EqualTheExplicitKernel_ForwardAndGradients(bool packed, int? slidingWindow)
    {
        using var scope = NewDisposeScope();
        var args = TinyModels.Llama() with { SlidingWindow = slidingWindow };
        using var fused = TinyModels.Create(args);
        using var plain = TinyModels.Create(args);
        using var gen = new Generator().manual_seed(5);
        var ids = randint(0, args.VocabSize, [2, 10], dtype: ScalarType.Int64, generator: gen);
        // Two packed samples per row (lengths 4 + 6 and 7 + 3), positions restarting at each sample.
        var segments = packed ? tensor(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1 }, [2, 10]) : null;
        var positions = packed ? tensor(new long[] { 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2 }, [2, 10]) : null;
        var allKeys = ones(2, 10, dtype: ScalarType.Int64);

        var a = fused.Hidden(ids, positions, segmentIds: segments);
        var b = plain.Hidden(ids, positions, keyPadding: allKeys, segmentIds: segments);
        Assert.True(a.allclose(b, rtol: 0, atol: Tol), $"hidden differs by {(a - b).abs().max().item<float>()}");

        using var weights = randn(a.shape, generator: gen);
        (a * weights).sum().backward();
        (b * weights).sum().backward();
        var plainGrads = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        foreach (var (name, p) in fused.named_parameters())
        {
            double diff = (p.grad! - plainGrads[name]).abs().max().item<float>();
            double scale = plainGrads[name].abs().max().item<float>();
            Assert.True(scale > 0 && diff <= Tol * scale, $"{name}: gradient differs by {diff} (largest entry {scale})");
        }
    }
}
