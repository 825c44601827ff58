using System.Text.Json;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Peft.Quantization;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public sealed class QuantTests
{
    [Fact]
    public void Nf4Codebook_IsBitsandbytes()
    {
        // bitsandbytes functional.get_4bit_type("nf4"), as listed in its source.
        double[] bnb = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
            -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
            0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0];
        Assert.Equal(bnb.Select(v => (float)v), Codebooks.Nf4);
        Assert.Equal((1.0 - 0.6961928009986877) / 2, Codebooks.MaxHalfGap(Codebooks.Nf4), 6); // widest gap: -1 to -0.696
    }

    [Fact]
    public void DynamicMap_EqualsPythonReference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Repo("peft/bnb_dynamic_map.json")));
        var expected = doc.RootElement.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        Assert.Equal(256, expected.Length);
        var ours = Codebooks.Dynamic8;
        // torch 1.13 (the generator) and libtorch 2.10 round linspace differently in the last bit: allow a few ulp.
        var diffs = Enumerable.Range(0, 256).Where(i => Math.Abs(expected[i] - ours[i]) > Math.Max(float.Epsilon, Math.Abs(expected[i]) * 2.5e-7)).Select(i => $"{i}: {expected[i]:R} vs {ours[i]:R}").ToList();
        Assert.True(diffs.Count == 0, string.Join("; ", diffs.Take(8)));
    }

    [Fact]
    public void Nf4_MatchesPythonPackingAndScales()
    {
        using var file = SafeTensorsFile.Open(Fixtures.Repo("peft/nf4_case.safetensors"));
        using var w = file.Load("weight");
        var q = new QuantizedWeight(w.shape[0], w.shape[1], new QuantSettings(4, 64, DoubleQuant: false));
        q.Quantize(w);
        using var packed = file.Load("packed");
        using var ours = q.state_dict()["data"];
        Assert.True(packed.to(ScalarType.Int64).equal(ours.to(ScalarType.Int64)).all().item<bool>());
        using var absmax = q.Absmax();
        using var expAbsmax = file.Load("absmax");
        Assert.Equal(0.0, Tiny.MaxAbsDiff(expAbsmax, absmax));
        using var deq = q.Dequantize(ScalarType.Float32);
        using var expDeq = file.Load("dequantized");
        Assert.True(Tiny.MaxAbsDiff(expDeq, deq) < 1e-7);
    }

    [Theory]
    [InlineData(4, 64)]
    [InlineData(4, 32)]
    [InlineData(8, 64)]
    public void RoundTrip_WithinFormatBound_AndNearestCode(int bits, int block)
    {
        using var g = new Generator().manual_seed(bits * 100 + block);
        using var w = randn([48, 100], generator: g) * 0.02; // 4800 values: last block partial for block 64
        using (no_grad()) w[7, 3] = tensor(0.5f);            // outlier
        var q = new QuantizedWeight(48, 100, new QuantSettings(bits, block, DoubleQuant: false));
        q.Quantize(w);
        using var deq = q.Dequantize(ScalarType.Float32);
        long nb = q.Blocks, pad = nb * block - w.NumberOfElements;
        using var err = nn.functional.pad((w - deq).abs().flatten(), [0, pad]).view(nb, block).amax([1]);
        using var absmax = nn.functional.pad(w.abs().flatten(), [0, pad]).view(nb, block).amax([1]);
        double halfGap = bits == 4 ? Codebooks.MaxHalfGap(Codebooks.Nf4) : 0.5 / 127;
        Assert.True((err <= absmax * halfGap * (1 + 1e-5)).all().item<bool>());
        if (bits == 4)
        {
            // Every value decodes to the nearest level: brute force over the 16 levels.
            using var levels = tensor(Codebooks.Nf4.ToArray());
            using var normed = nn.functional.pad(w.flatten(), [0, pad]).view(nb, block) / absmax.unsqueeze(1);
            using var best = (normed.unsqueeze(-1) - levels).abs().amin([-1]);
            using var ours = nn.functional.pad(deq.flatten(), [0, pad]).view(nb, block) / absmax.unsqueeze(1);
            using var ourDist = (normed - ours).abs();
            Assert.True((ourDist <= best + 1e-6).all().item<bool>());
        }
        Assert.Equal(bits == 4 ? (nb * block) / 2 + 4 * nb : nb * block + 4 * nb, q.StorageBytes);
    }

    [Fact]
    public void DoubleQuant_ScaleError_WithinDynamicMapBound()
    {
        using var g = new Generator().manual_seed(21);
        using var absmax = rand([700], generator: g) * 0.1 + 0.01; // 3 second-level blocks, the last partial
        var scales = new BlockScales(700, doubleQuant: true);
        scales.Set(absmax);
        using var decoded = scales.Get();
        using var centered = nn.functional.pad(absmax - absmax.mean(), [0, 3 * 256 - 700]).view(3, 256);
        using var a2 = centered.abs().amax([1]);                                 // per-256 scale
        using var err = nn.functional.pad((absmax - decoded).abs(), [0, 3 * 256 - 700]).view(3, 256).amax([1]);
        double halfGap = Codebooks.MaxHalfGap(Codebooks.Dynamic8);
        Assert.True((err <= a2 * halfGap + 1e-7).all().item<bool>());
        Assert.True(err.max().item<float>() > 0);                                 // it is lossy: codes are real
        Assert.Equal(3 * 256 + 3 * 4 + 4, scales.StorageBytes);
    }

    [Fact]
    public void QLora_Forward_EqualsLoraOnTheDequantizedBase()
    {
        var settings = Tiny.Lora("q_proj", "v_proj", "gate_proj") with { Quant = new QuantSettings(4) };
        using var qmodel = new LoraPolicy(settings).LoadModel(Tiny.BaseDir, seed: 8);
        Tiny.Randomize(qmodel, 9);
        // The same adapters on a dense model whose projections hold the dequantized weights.
        using var dense = new LoraPolicy(settings with { Quant = null }).LoadModel(Tiny.BaseDir, seed: 8);
        var qAdapters = qmodel.named_modules().ToDictionary(m => m.name, m => m.module);
        using (no_grad())
        {
            foreach (var (name, p) in dense.named_parameters())
            {
                int dot = name.LastIndexOf('.');
                if (name.EndsWith(".weight") && !AdapterModel.IsAdapterParameter(name) && qAdapters[name[..dot]] is IDenseEquivalent dq and not IAdapterLayer)
                    p.copy_(dq.DenseWeight(ScalarType.Float32));
                else if (name.EndsWith(".weight") && !AdapterModel.IsAdapterParameter(name) && qAdapters[name[..dot]] is IAdapterLayer ql)
                    p.copy_(ql.BaseWeight(ScalarType.Float32));
            }
            foreach (var ((_, dl), (_, ql)) in dense.Adapters().Zip(qmodel.Adapters()))
            {
                dl.LoraA.copy_(ql.LoraA);
                dl.LoraB.copy_(ql.LoraB);
            }
        }
        using var ids = Tiny.Ids();
        using var expected = dense.forward(ids);
        using var actual = qmodel.forward(ids);
        Assert.True(Tiny.MaxAbsDiff(expected, actual) < 1e-5);
        // and quantization really changed the base: the quantized model is not the fp32 one
        using var fp = ModelLoader.Load(Tiny.BaseDir);
        using var fpLogits = fp.forward(ids);
        using (qmodel.AdaptersDisabled())
        {
            using var qBase = qmodel.forward(ids);
            Assert.True(Tiny.MaxAbsDiff(fpLogits, qBase) > 1e-4);
        }
    }

    [Fact]
    public void QLora_InputGradientFlows_BaseHasNoParameters()
    {
        var settings = Tiny.Lora("q_proj") with { Quant = new QuantSettings(4), UseDora = true };
        using var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir, seed: 1);
        Tiny.Randomize(model, 2);
        var layer = (QLoraLinear)model.named_modules().First(m => m.name == "model.layers.0.self_attn.q_proj").module;
        using var x = randn([2, 3, 64]).requires_grad_(true);
        using (var scope = NewDisposeScope()) layer.forward(x).sum().backward();
        Assert.True(x.grad is not null && x.grad.abs().sum().item<float>() > 0);
        Assert.True(layer.LoraB.grad is not null && layer.Magnitude!.grad is not null);
        Assert.DoesNotContain(model.named_parameters(), p => p.name.EndsWith("q_proj.weight") || p.name.EndsWith("k_proj.weight"));
    }

    [Fact]
    public void QuantizedMemory_ReportsStorageVersusBf16()
    {
        using var model = new LoraPolicy(Tiny.Lora("q_proj") with { Quant = new QuantSettings(4, 64, DoubleQuant: true) })
            .LoadModel(Tiny.BaseDir);
        var (q, bf16) = model.QuantizedMemory();
        var a = Tiny.Args();
        long perLayer = 64L * 64 + 2 * 32L * 64 + 64L * 64 + 3 * 64L * 96; // q, k, v, o, gate, up, down
        Assert.Equal(2 * perLayer * 2, bf16);
        Assert.True(q < bf16 / 3.5, $"{q} vs {bf16}");                    // ~4.1 bits vs 16 bits
        Assert.Equal(2, a.NumHiddenLayers);
    }
}
