using TuneSharp.Models;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public sealed class LoraLayerTests
{
    static readonly string[] Targets = [LoraSettings.AllLinear];

    [Fact]
    public void FreshLora_BIsZero_EqualsBaseExactly()
    {
        using var baseModel = ModelLoader.Load(Tiny.BaseDir);
        var policy = new LoraPolicy(Tiny.Lora(Targets));
        using var model = policy.LoadModel(Tiny.BaseDir, seed: 5);
        using var ids = Tiny.Ids();
        using var expected = baseModel.forward(ids);
        using var actual = model.forward(ids);
        Assert.Equal(0.0, Tiny.MaxAbsDiff(expected, actual));
        // A is non-zero (kaiming), B is zero: PEFT's init
        foreach (var (_, l) in model.Adapters())
        {
            Assert.True(l.LoraA.abs().max().item<float>() > 0);
            Assert.Equal(0f, l.LoraB.abs().max().item<float>());
            float bound = (float)(1 / Math.Sqrt(l.InFeatures));
            Assert.True(l.LoraA.abs().max().item<float>() <= bound);
        }
    }

    [Fact]
    public void GaussianInit_HasStdOneOverR()
    {
        var policy = new LoraPolicy(LoraSettings.Create(8, 16, "gate_proj", "up_proj") with { Init = "gaussian" });
        using var model = policy.LoadModel(Tiny.BaseDir, seed: 1);
        using var all = cat([.. model.Adapters().Select(a => a.Layer.LoraA.flatten())]);
        double std = all.std().item<float>();
        Assert.InRange(std, 0.125 * 0.9, 0.125 * 1.1); // 4 * 8 * 64 samples: std of the estimate ~1.3 %
    }

    [Fact]
    public void OnlyAdapterParameters_AreTrainable_AndGetGradients()
    {
        var policy = new LoraPolicy(Tiny.Lora("q_proj", "v_proj", "down_proj") with { UseDora = true });
        using var model = policy.LoadModel(Tiny.BaseDir, seed: 2);
        Tiny.Randomize(model, 3);
        using var ids = Tiny.Ids();
        using (var scope = NewDisposeScope())
        {
            var logits = model.forward(ids);
            nn.functional.cross_entropy(logits.view(-1, 256), ids.view(-1)).backward();
        }
        int adapterParams = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            bool adapter = AdapterModel.IsAdapterParameter(name);
            Assert.Equal(adapter, p.requires_grad);
            if (adapter)
            {
                adapterParams++;
                Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"no gradient for {name}");
            }
            else Assert.True(p.grad is null, $"frozen {name} got a gradient");
        }
        Assert.Equal(2 * 3 * 3, adapterParams); // 2 layers x 3 modules x (A, B, m)
    }

    [Fact]
    public void AdaptersDisabled_EqualsBase_AndRestores()
    {
        using var baseModel = ModelLoader.Load(Tiny.BaseDir);
        var policy = new LoraPolicy(Tiny.Lora(Targets));
        using var model = policy.LoadModel(Tiny.BaseDir);
        Tiny.Randomize(model, 4);
        using var ids = Tiny.Ids();
        using var expected = baseModel.forward(ids);
        using var adapted = model.forward(ids);
        Assert.True(Tiny.MaxAbsDiff(expected, adapted) > 1e-2);
        using (model.AdaptersDisabled())
        {
            using var off = model.forward(ids);
            Assert.Equal(0.0, Tiny.MaxAbsDiff(expected, off));
            using (model.AdaptersDisabled()) { }   // nested scope keeps them off
            using var stillOff = model.forward(ids);
            Assert.Equal(0.0, Tiny.MaxAbsDiff(expected, stillOff));
        }
        using var on = model.forward(ids);
        Assert.Equal(0.0, Tiny.MaxAbsDiff(adapted, on));
    }

    [Fact]
    public void Lora_Forward_EqualsFormula()
    {
        var layer = new LoraLinear(16, 8, true, ScalarType.Float32, new AdapterSpec(4, 6, 0, false));
        using var g = new Generator().manual_seed(9);
        using (no_grad())
        {
            layer.Weight.normal_(0, 0.3, g);
            layer.BaseBias!.normal_(0, 0.3, g);
            layer.LoraB.normal_(0, 0.3, g);
        }
        using var x = randn([3, 5, 16], generator: g);
        using var y = layer.forward(x);
        using var expected = x.matmul(layer.Weight.t()) + layer.BaseBias! + x.matmul(layer.LoraA.t()).matmul(layer.LoraB.t()) * 1.5;
        Assert.True(Tiny.MaxAbsDiff(expected, y) < 1e-5);
    }

    [Fact]
    public void Dropout_OnlyInTraining_OnTheAdapterInput()
    {
        var layer = new LoraLinear(32, 8, false, ScalarType.Float32, new AdapterSpec(4, 4, 0.5, false));
        using (no_grad()) { layer.Weight.normal_(0, 0.3); layer.LoraB.normal_(0, 0.3); }
        using var x = randn(4, 32);
        using var baseOut = nn.functional.linear(x, layer.Weight);
        layer.eval();
        using var a = layer.forward(x);
        using var b = layer.forward(x);
        Assert.Equal(0.0, Tiny.MaxAbsDiff(a, b));
        layer.train();
        using var c = layer.forward(x);
        Assert.True(Tiny.MaxAbsDiff(a, c) > 1e-4);                 // adapter path changed by dropout
        using (layer.AdaptersDisabled())
        {
            using var d = layer.forward(x);
            Assert.Equal(0.0, Tiny.MaxAbsDiff(baseOut, d));         // base path never sees dropout
        }
    }

    [Fact]
    public void Bf16Base_KeepsFloat32Adapters_AndBf16Output()
    {
        var policy = new LoraPolicy(Tiny.Lora("q_proj", "o_proj"));
        using var model = policy.LoadModel(Tiny.BaseDir, ScalarType.BFloat16);
        Tiny.Randomize(model, 6);
        foreach (var (_, l) in model.Adapters())
        {
            Assert.Equal(ScalarType.Float32, l.LoraA.dtype);
            Assert.Equal(ScalarType.Float32, l.LoraB.dtype);
        }
        Assert.Equal(ScalarType.BFloat16, model.Model.EmbedTokens.Weight.dtype);
        using var ids = Tiny.Ids();
        using var logits = model.forward(ids);
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        // Same adapters in an fp32 model: bf16 result within bf16 rounding of the fp32 result.
        using var model32 = policy.LoadModel(Tiny.BaseDir, ScalarType.Float32);
        Tiny.Randomize(model32, 6);
        using var logits32 = model32.forward(ids);
        Assert.True(Tiny.MaxAbsDiff(logits32, logits) < 0.1);
    }

    [Fact]
    public void Bf16Base_AdapterGradientsAreFloat32_AndMatchTheFloat32Layer()
    {
        // The bf16 path runs the adapter matmuls in bf16 (as PEFT under autocast); the fp32 factors still get fp32
        // gradients, equal to the fp32 layer's within bf16 rounding (relative 2%: inputs and products carry 8 bits).
        var spec = new AdapterSpec(4, 8, 0, false);
        var l32 = new LoraLinear(64, 32, false, ScalarType.Float32, spec);
        var l16 = new LoraLinear(64, 32, false, ScalarType.BFloat16, spec);
        using var g = new Generator().manual_seed(3);
        using (no_grad())
        {
            l32.Weight.normal_(0, 0.2, g);
            l32.LoraB.normal_(0, 0.2, g);
            l16.Weight.copy_(l32.Weight);
            l16.LoraA.copy_(l32.LoraA);
            l16.LoraB.copy_(l32.LoraB);
        }
        using var x = randn([6, 64], generator: g);
        using var t = randn([6, 32], generator: g);
        (l32.forward(x) * t).sum().backward();
        (l16.forward(x.to(ScalarType.BFloat16)).to(ScalarType.Float32) * t).sum().backward();
        foreach (var (a, b) in new[] { (l32.LoraA, l16.LoraA), (l32.LoraB, l16.LoraB) })
        {
            Assert.Equal(ScalarType.Float32, b.grad!.dtype);
            double scale = a.grad!.abs().max().item<float>();
            Assert.True(Tiny.MaxAbsDiff(a.grad!, b.grad!) < 0.02 * scale, $"max diff {Tiny.MaxAbsDiff(a.grad!, b.grad!)} vs scale {scale}");
        }
    }
}
