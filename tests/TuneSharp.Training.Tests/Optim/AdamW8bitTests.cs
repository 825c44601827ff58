using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Training.Optim;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>8-bit AdamW against fp32 AdamW, and the block-wise quantizer it stores its moments with.</summary>
public sealed class AdamW8bitTests
{
    [Fact]
    public void DynamicMap_IsBitsandbytesMap()
    {
        var signed = BlockQuantizer.DynamicMap(signed: true);
        var unsigned = BlockQuantizer.DynamicMap(signed: false);
        Assert.Equal(256, signed.Length);
        Assert.Equal(256, unsigned.Length);
        Assert.True(signed.Zip(signed.Skip(1)).All(p => p.First < p.Second), "signed map not strictly increasing");
        Assert.True(unsigned.Zip(unsigned.Skip(1)).All(p => p.First < p.Second), "unsigned map not strictly increasing");
        // Smallest magnitudes: 1e-6 * mean(linspace(0.1, 1, 2)) = 5.5e-7 (signed), 1e-6 * 0.325 (unsigned).
        Assert.Equal(5.5e-7f, signed.Where(v => v > 0).Min(), 1e-12f);
        Assert.Equal(-5.5e-7f, signed.Where(v => v < 0).Max(), 1e-12f);
        Assert.Equal(3.25e-7f, unsigned.Where(v => v > 0).Min(), 1e-12f);
        // Largest: 1.0, and the top mean of the last exponent: 0.1 + 0.9 * 63.5 / 64 (signed).
        Assert.Equal(1f, signed[^1]);
        Assert.Equal(-(0.1 + 0.9 * 63.5 / 64), signed[0], 6);
        Assert.Equal(0f, unsigned[0]);
    }

    [Theory]
    [InlineData(true, 256)]
    [InlineData(false, 2048)]
    public void QuantizeThenDequantize_IsWithinHalfACodeGap_ZerosStayZero(bool signed, int blockSize)
    {
        torch.manual_seed(5);
        using var scope = torch.NewDisposeScope();
        // 3 blocks and a partial one; one block all zero; magnitudes spread over 6 orders.
        long n = 3L * blockSize + 17;
        var x = torch.randn(n) * torch.pow(10, torch.rand(n) * 6 - 6);
        if (!signed) x = x.abs();
        x.narrow(0, blockSize, blockSize).zero_();
        using var q = new BlockQuantizer(signed, blockSize);
        var codes = torch.empty(n, ScalarType.Byte);
        var absmax = torch.empty(q.Blocks(n));
        q.Quantize(x, codes, absmax);
        var back = q.Dequantize(codes, absmax, [n]);

        var map = BlockQuantizer.DynamicMap(signed);
        double maxHalfGap = map.Zip(map.Skip(1)).Max(p => p.Second - p.First) / 2;
        var blockMax = absmax.repeat_interleave(blockSize).narrow(0, 0, n);
        var excess = (back - x).abs() - blockMax * (maxHalfGap * 1.0001);
        Assert.True(excess.max().item<float>() <= 0, "quantization error above half a code gap");
        Assert.Equal(0f, back.narrow(0, blockSize, blockSize).abs().max().item<float>());
        // Each block's absmax is stored exactly (the signed map has 1.0 but not -1.0, as bitsandbytes').
        var padded = nn.functional.pad(x, [0, q.Blocks(n) * blockSize - n]).reshape(-1, blockSize);
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(padded.abs().amax([1]), absmax));
    }

    /// <summary>
    /// 200 steps (lr 1e-3, wd 0.01) on two [64, 96] parameters, one with gradients of a fixed direction plus as much
    /// noise, one with small heavy-tailed gradients: the 8-bit run stays within 5% of fp32 AdamW's movement on average
    /// and 12% for the worst element (rounding the moments to the map is deterministic, so its error persists while a
    /// moment is steady), and its state is ~4x smaller.
    /// </summary>
    [Fact]
    public void TracksFp32AdamW_WithinTolerance_WithAQuarterOfTheState()
    {
        torch.manual_seed(9);
        const int Steps = 200;
        using var w0 = torch.randn(64, 96) * 0.1;
        using var v0 = torch.randn(64, 96) * 0.1;
        using var direction = torch.randn(64, 96);
        using var w32 = new Parameter(w0.clone());
        using var v32 = new Parameter(v0.clone());
        using var w8 = new Parameter(w0.clone());
        using var v8 = new Parameter(v0.clone());
        static IReadOnlyList<ParameterGroup> G(Parameter a, Parameter b) =>
            ParamGroups.Build([new("a.weight", a), new("b.weight", b)], 1e-3, 0.01);
        using var fp32 = AdamW.Create(G(w32, v32));
        using var int8 = AdamW8bit.Create(G(w8, v8));
        for (int k = 0; k < Steps; k++)
        {
            using var scope = torch.NewDisposeScope();
            var gw = direction * 0.01 + torch.randn(64, 96) * 0.01;
            var gv = (torch.randn(64, 96) * 1e-4).pow(3) * 1e6;  // heavy-tailed, small: where a linear map would fail
            w32.grad = gw; w8.grad = gw;
            v32.grad = gv; v8.grad = gv;
            fp32.Step(); int8.Step();
        }
        foreach (var (p32, p8, p0, name) in new[] { (w32, w8, w0, "a"), (v32, v8, v0, "b") })
        {
            double moved = (p32 - p0).abs().max().item<float>();
            double maxDiff = TensorAssert.MaxAbsDiff(p32, p8);
            double meanMoved = (p32 - p0).abs().mean().item<float>(), meanDiff = (p32 - p8).abs().mean().item<float>();
            Assert.True(moved > 0.03, $"{name}: fp32 AdamW barely moved ({moved})");
            // Measured: a 3.1% / 8.7%, b 3.5% / 4.7% (mean / worst element).
            Assert.True(meanDiff <= 0.05 * meanMoved, $"{name}: mean distance to fp32 AdamW {meanDiff:E3} is {meanDiff / meanMoved:P2} of its mean movement");
            Assert.True(maxDiff <= 0.12 * moved, $"{name}: largest distance to fp32 AdamW {maxDiff:E3} is {maxDiff / moved:P2} of its largest movement");
        }

        static long Bytes(IOptimizer o) => o.StateTensors().Values.Sum(t => t.numel() * t.element_size());
        double ratio = (double)Bytes(fp32) / Bytes(int8);
        Assert.InRange(ratio, 3.9, 4.0); // 8 bytes vs 2 + 8/256 per parameter
    }

    [Fact]
    public void LoadState_CodesOfAnotherDType_NamesTheTensor()
    {
        using var w = new Parameter(torch.randn(4, 6));
        using var opt = AdamW8bit.Create(ParamGroups.Build([new("w", w)], 1e-3, 0));
        w.grad = torch.randn(4, 6);
        opt.Step();
        using var asFloat = opt.StateTensors()["w.exp_avg.q"].to(ScalarType.Float32);
        var tensors = new Dictionary<string, Tensor>(opt.StateTensors()) { ["w.exp_avg.q"] = asFloat };
        var e = Assert.Throws<InvalidDataException>(() => opt.LoadState(tensors, opt.ScalarState(), "ckpt/optimizer.safetensors"));
        Assert.Contains("'w.exp_avg.q'", e.Message);
        Assert.Contains("Byte", e.Message);
    }
}
