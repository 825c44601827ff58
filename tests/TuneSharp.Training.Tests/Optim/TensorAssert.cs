using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>Tolerance checks that report the worst element.</summary>
static class TensorAssert
{
    /// <summary>Asserts |actual - expected| &lt;= atol + rtol * |expected| element-wise (compared in fp64).</summary>
    public static void Close(Tensor expected, Tensor actual, double atol, double rtol, string what)
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.detach().to(ScalarType.Float64);
        var a = actual.detach().to(ScalarType.Float64);
        var excess = (a - e).abs() - (e.abs() * rtol + atol);
        double worst = excess.max().item<double>();
        double maxDiff = (a - e).abs().max().item<double>();
        Assert.True(worst <= 0, $"{what}: max |diff| {maxDiff:E3} exceeds atol {atol:E1} + rtol {rtol:E1} * |expected|");
        Assert.False(a.isnan().any().item<bool>(), $"{what}: NaN");
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        return (a.detach().to(ScalarType.Float64) - b.detach().to(ScalarType.Float64)).abs().max().item<double>();
    }
}
