using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public sealed class DoraTests
{
    [Fact]
    public void Forward_EqualsReferenceFormula_WithBias()
    {
        var layer = new LoraLinear(16, 8, true, ScalarType.Float32, new AdapterSpec(4, 8, 0, true), dora: true);
        using var g = new Generator().manual_seed(31);
        using (no_grad())
        {
            layer.Weight.normal_(0, 0.3, g);
            layer.BaseBias!.normal_(0, 0.3, g);
        }
        layer.ResetAdapter("default", g);
        // At init m = ||W||_row (B = 0)
        using (var norms = linalg.norm(layer.Weight, dims: [1L]))
            Assert.True(Tiny.MaxAbsDiff(norms, layer.Magnitude!) < 1e-6);
        using (no_grad())
        {
            layer.LoraB.normal_(0, 0.3, g);
            layer.Magnitude!.mul_(1 + 0.3 * randn(8, generator: g));
        }
        using var x = randn([2, 5, 16], generator: g);
        using var y = layer.forward(x);
        // y = m / ||W + s B A||_row * (W x + s B A x) + b, s = alpha / sqrt(r) (rsLoRA)
        double s = 8 / Math.Sqrt(4);
        using var scope = NewDisposeScope();
        var wp = layer.Weight + s * layer.LoraB.mm(layer.LoraA);
        var expected = (layer.Magnitude! / linalg.norm(wp, dims: [1L])) * x.matmul(wp.t()) + layer.BaseBias!;
        Assert.True(Tiny.MaxAbsDiff(expected, y) < 1e-5);
    }

    [Fact]
    public void Norm_IsDetached_MagnitudeAndFactorsGetGradients()
    {
        var layer = new LoraLinear(8, 4, false, ScalarType.Float32, new AdapterSpec(2, 2, 0, false), dora: true);
        using (no_grad()) layer.Weight.normal_(0, 0.5);
        layer.ResetAdapter("default", null);
        using (no_grad()) layer.LoraB.normal_(0, 0.5);
        using var x = randn(3, 8);
        using (var scope = NewDisposeScope()) layer.forward(x).pow(2).sum().backward();
        // Reference gradient of B with the norm held constant (PEFT / paper section 4.3).
        using var scope2 = NewDisposeScope();
        var b = layer.LoraB.detach().clone().requires_grad_(true);
        var m = layer.Magnitude!.detach();
        var w = layer.Weight.detach();
        var a = layer.LoraA.detach();
        var norm = linalg.norm(w + b.detach().mm(a), dims: [1L]);
        var y = (m / norm) * (x.matmul(w.t()) + x.matmul(a.t()).matmul(b.t()));
        y.pow(2).sum().backward();
        Assert.True(Tiny.MaxAbsDiff(b.grad!, layer.LoraB.grad!) < 1e-5);
        Assert.True(layer.Magnitude!.grad!.abs().sum().item<float>() > 0);
    }
}
