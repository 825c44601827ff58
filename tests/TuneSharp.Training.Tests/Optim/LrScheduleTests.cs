using TuneSharp.Training.Optim;
using Xunit;

namespace TuneSharp.Training.Tests.Optim;

/// <summary>
/// Expected values are computed in-test from the closed forms of HF transformers' schedule lambdas
/// (optimization.py: _get_*_lr_lambda), mostly at points where they are exact by hand (warmup end, middle, end).
/// </summary>
public sealed class LrScheduleTests
{
    const double Tol = 1e-12;

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.5)]      // warmup: step / warmup
    [InlineData(10, 1.0)]     // warmup ends exactly at 1
    [InlineData(55, 0.5)]     // (100 - 55) / (100 - 10)
    [InlineData(99, 1.0 / 90)]
    [InlineData(100, 0.0)]
    [InlineData(150, 0.0)]    // clamped at 0 past the end
    public void Linear_WithWarmup(long step, double expected) =>
        Assert.Equal(expected, new LrSchedule(LrScheduleKind.Linear, WarmupSteps: 10).Factor(step, 100), Tol);

    [Theory]
    [InlineData(10, 1.0)]
    [InlineData(35, 0.853553390593273762)]   // progress 1/4: 0.5 (1 + cos(pi/4)) = 1/2 + sqrt(2)/4
    [InlineData(60, 0.5)]                    // progress 1/2
    [InlineData(110, 0.0)]                   // progress 1
    public void Cosine_WithWarmup(long step, double expected) =>
        Assert.Equal(expected, new LrSchedule(LrScheduleKind.Cosine, WarmupSteps: 10).Factor(step, 110), Tol);

    [Theory]
    [InlineData(3, 0.3)]
    [InlineData(60, 0.55)]    // 0.5 * (1 - 0.1) + 0.1
    [InlineData(110, 0.1)]
    public void CosineWithMinLr_EndsAtMinRatio(long step, double expected) =>
        Assert.Equal(expected, new LrSchedule(LrScheduleKind.CosineWithMinLr, WarmupSteps: 10, MinLrRatio: 0.1).Factor(step, 110), Tol);

    [Fact]
    public void Constant_WarmupThenOne_AndNoWarmupIsOneFromStepZero()
    {
        var s = new LrSchedule(LrScheduleKind.Constant, WarmupSteps: 4);
        Assert.Equal([0.0, 0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 6).Select(i => s.Factor(i, 6)));
        Assert.Equal(1.0, new LrSchedule(LrScheduleKind.Constant).Factor(0, 6));
        Assert.Equal(1.0, new LrSchedule(LrScheduleKind.Linear).Factor(0, 6));
    }

    [Fact]
    public void WarmupRatio_RoundsUpLikeHf()
    {
        var s = new LrSchedule(LrScheduleKind.Linear, WarmupRatio: 0.1);
        Assert.Equal(10, s.Warmup(95));                     // ceil(9.5)
        Assert.Equal(0.5, s.Factor(5, 95), Tol);
        Assert.Equal(1.0, s.Factor(10, 95), Tol);
    }

    [Theory]
    [InlineData(WsdDecayShape.Cosine, 79, 1.0)]
    [InlineData(WsdDecayShape.Cosine, 80, 1.0)]               // decay starts at progress 0
    [InlineData(WsdDecayShape.Cosine, 90, 0.6)]               // 0.5 * (1 - 0.2) + 0.2
    [InlineData(WsdDecayShape.Linear, 95, 0.4)]               // (1 - 0.75) * 0.8 + 0.2
    [InlineData(WsdDecayShape.OneMinusSqrt, 85, 0.6)]         // (1 - sqrt(0.25)) * 0.8 + 0.2
    [InlineData(WsdDecayShape.OneMinusSqrt, 100, 0.2)]        // past the decay: min_lr_ratio
    [InlineData(WsdDecayShape.Cosine, 5, 0.5)]                // warmup from 0 (not from min_lr_ratio, see docs)
    public void WarmupStableDecay(WsdDecayShape shape, long step, double expected)
    {
        // 100 steps: warmup 10, decay round(0.2 * 100) = 20, stable 70.
        var s = new LrSchedule(LrScheduleKind.WarmupStableDecay, WarmupSteps: 10, MinLrRatio: 0.2, DecayRatio: 0.2, DecayShape: shape);
        Assert.Equal(expected, s.Factor(step, 100), Tol);
    }

    [Theory]
    [InlineData(LrScheduleKind.Linear)]
    [InlineData(LrScheduleKind.Cosine)]
    [InlineData(LrScheduleKind.CosineWithMinLr)]
    [InlineData(LrScheduleKind.WarmupStableDecay)]
    public void AfterWarmup_NonIncreasingAndWithinBounds(LrScheduleKind kind)
    {
        var s = new LrSchedule(kind, WarmupSteps: 7, MinLrRatio: 0.05, DecayRatio: 0.3);
        double previous = double.MaxValue;
        for (long step = 7; step <= 57; step++)
        {
            double f = s.Factor(step, 57);
            Assert.InRange(f, 0.0, 1.0);
            Assert.True(f <= previous, $"{kind}: factor rises at step {step}");
            previous = f;
        }
    }
}
