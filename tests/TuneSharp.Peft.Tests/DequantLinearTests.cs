using TuneSharp.Peft;
using TuneSharp.Peft.Quantization;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public class DequantLinearTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void OutputAndInputGradient_EqualALinearOnTheDequantizedWeight(int bits)
    {
        using var q = new QuantizedWeight(24, 64, new QuantSettings(bits));
        using (var scope = NewDisposeScope()) q.Quantize(randn(24, 64, generator: new Generator().manual_seed(1)));
        using var scope2 = NewDisposeScope();
        var bias = randn(24);
        var x1 = randn(3, 5, 64).requires_grad_(true);
        var x2 = x1.detach().clone().requires_grad_(true);
        var upstream = randn(3, 5, 24);

        var y1 = DequantLinear.Apply(x1, q, ScalarType.Float32, bias);
        var y2 = nn.functional.linear(x2, q.Dequantize(ScalarType.Float32), bias);
        (y1 * upstream).sum().backward();
        (y2 * upstream).sum().backward();
        // Tolerance 1e-5: the same products, grad computed as grad_y W^T^T in a different kernel order.
        Assert.True(y1.allclose(y2, rtol: 0, atol: 1e-5));
        Assert.True(x1.grad!.allclose(x2.grad!, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void RepeatedSteps_LeaveNoLiveTensors()
    {
        using var q = new QuantizedWeight(16, 32, new QuantSettings(4));
        using (var s = NewDisposeScope()) q.Quantize(randn(16, 32));
        long growth = LiveTensors.GrowthOver(5, () =>
        {
            using var scope = NewDisposeScope();
            var x = randn(2, 32).requires_grad_(true);
            DequantLinear.Apply(x, q, ScalarType.Float32, null).sum().backward();
        });
        Assert.Equal(0, growth);
    }
}
