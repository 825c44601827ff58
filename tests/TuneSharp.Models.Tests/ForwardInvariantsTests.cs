using TuneSharp.Models;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Models.Tests;

/// <summary>Self-consistency of the decoder: cache, padding and packing must not change the math.</summary>
public class ForwardInvariantsTests
{
    const double Tol = 1e-5; // fp32, same kernels in a different order

    static Tensor Ids(params long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void CachedDecode_EqualsFullForward(bool qkNorm, bool bias)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(TinyModels.Llama() with { QkNorm = qkNorm, QkvBias = bias });
        var ids = Ids([5, 17, 3, 99, 42, 7, 250, 8], [1, 2, 3, 4, 5, 6, 7, 8]);
        using var _ = no_grad();
        var full = model.Forward(ids);
        using var cache = model.NewCache(2, 16);
        var prefill = model.Forward(ids[.., ..5], cache: cache);
        Assert.True(prefill.allclose(full[.., ..5], rtol: 0, atol: Tol));
        for (int t = 5; t < 8; t++)
        {
            var step = model.Forward(ids[.., t..(t + 1)], cache: cache);
            Assert.True(step.allclose(full[.., t..(t + 1)], rtol: 0, atol: Tol), $"decode step {t}");
        }
        Assert.Equal(8, cache.Length);
    }

    [Fact]
    public void LeftPadding_WithPositionsAndKeyMask_EqualsTheUnpaddedRow()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(TinyModels.Llama());
        using var _ = no_grad();
        var alone = model.Forward(Ids([10, 20, 30, 40]));
        var padded = model.Forward(
            Ids([0, 0, 10, 20, 30, 40]),
            positionIds: Ids([0, 0, 0, 1, 2, 3]),
            keyPadding: Ids([0, 0, 1, 1, 1, 1]));
        Assert.True(padded[.., 2..].allclose(alone, rtol: 0, atol: Tol));
    }

    [Fact]
    public void PackedRow_WithSegmentsAndRestartingPositions_EqualsSeparateSamples()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(TinyModels.Llama());
        using var _ = no_grad();
        var a = model.Forward(Ids([3, 1, 4, 1, 5]));
        var b = model.Forward(Ids([9, 2, 6]));
        var packed = model.Forward(
            Ids([3, 1, 4, 1, 5, 9, 2, 6]),
            positionIds: Ids([0, 1, 2, 3, 4, 0, 1, 2]),
            segmentIds: Ids([1, 1, 1, 1, 1, 2, 2, 2]));
        Assert.True(packed[.., ..5].allclose(a, rtol: 0, atol: Tol));
        Assert.True(packed[.., 5..].allclose(b, rtol: 0, atol: Tol));
    }

    [Fact]
    public void SlidingWindow_LimitsHowFarBackAttentionReaches()
    {
        using var scope = NewDisposeScope();
        var args = TinyModels.Llama();
        using var full = TinyModels.Create(args);
        using var windowed = TinyModels.Create(args with { SlidingWindow = 3 });
        using var _ = no_grad();
        var ids = Ids([1, 2, 3, 4, 5, 6, 7]);
        var f = full.Forward(ids);
        var w = windowed.Forward(ids);
        // Within the window the outputs agree; beyond it they must differ.
        Assert.True(w[.., ..3].allclose(f[.., ..3], rtol: 0, atol: Tol));
        Assert.False(w[.., 3..].allclose(f[.., 3..], rtol: 0, atol: 1e-3));
        // The last token's output depends only on the last 3 tokens: changing token 0 changes nothing there.
        var w2 = windowed.Forward(Ids([200, 2, 3, 4, 5, 6, 7]));
        Assert.True(w2[.., 6].allclose(w[.., 6], rtol: 0, atol: Tol));
    }

    [Fact]
    public void Bf16Model_TracksFp32_WithinBf16Precision()
    {
        using var scope = NewDisposeScope();
        using var m32 = TinyModels.Create(TinyModels.Llama());
        using var m16 = new CausalLM(m32.Args, ScalarType.BFloat16);
        using (no_grad())
            foreach (var ((_, p16), (_, p32)) in m16.named_parameters().Zip(m32.named_parameters()))
                p16.copy_(p32);
        var ids = Ids([5, 17, 3, 99, 42, 7, 250, 8]);
        using var _ = no_grad();
        var l32 = m32.Forward(ids);
        var l16 = m16.Forward(ids);
        Assert.Equal(ScalarType.BFloat16, l16.dtype);
        double maxErr = (l16.to(ScalarType.Float32) - l32).abs().max().item<float>();
        double scale = l32.abs().max().item<float>();
        Assert.True(maxErr < 0.05 * scale, $"bf16 max error {maxErr} vs logit scale {scale}");
    }
}
