using TorchSharp;
using TuneSharp.Testing;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Optim;
using Xunit;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace TuneSharp.Training.Tests.Loop;

/// <summary>The shared optimizer step: accumulation normalised by the step's units, metrics averaged over units.</summary>
public sealed class StepDriverTests
{
    /// <summary>A micro-batch of a least-squares toy problem: rows x [n, 3] and targets y [n]; one unit per row.</summary>
    sealed record Rows(Tensor X, Tensor Y)
    {
        public long Units => X.shape[0];
    }

    static (Parameter W, StepDriver Driver, IOptimizer Optimizer) Build(double? maxGradNorm = null)
    {
        var w = new Parameter(torch.tensor(new float[] { 0.5f, -0.25f, 1.0f }));
        var named = new[] { new NamedParameter("w", w) };
        // lr 1, eps 1: AdamW's first update is g / (|g| + 1), monotone in g, so equal weights mean equal gradients.
        var opt = AdamW.Create(ParamGroups.Build(named, 1.0, 0, []), new AdamOptions { Eps = 1.0 });
        return (w, new StepDriver(named, opt, new LrSchedule(LrScheduleKind.Constant), 1.0, maxGradNorm, totalSteps: 10), opt);
    }

    static MicroLoss SquaredError(Parameter w, Rows b)
    {
        var err = b.X.matmul(w) - b.Y;                                     // [n]
        var metrics = new MetricSums();
        metrics.Add("abs_error", err.abs().sum().item<float>(), b.Units);  // a mean over rows
        return new MicroLoss(err.pow(2).sum(), metrics);
    }

    static List<Rows> Data()
    {
        torch.manual_seed(3);
        var x = torch.randn(10, 3);
        var y = torch.randn(10);
        return [new(x, y)];
    }

    [Fact]
    public void EveryStep_CollectsTheYoungGarbage_SoTheManagedHeapDoesNotGrowUnseen()
    {
        var (w, driver, _) = Build();
        var data = Data();
        int before = GC.CollectionCount(1);
        for (int step = 0; step < 3; step++) driver.Step(step, data, b => b.Units, b => SquaredError(w, b));
        Assert.True(GC.CollectionCount(1) - before >= 3, $"{GC.CollectionCount(1) - before} generation-1 collections in 3 steps");
    }

    [Fact]
    public void UnevenMicroBatches_GiveTheSameStepAsOneBatch()
    {
        var all = Data()[0];
        var (w1, d1, o1) = Build();
        var r1 = d1.Step(0, [all], b => b.Units, b => SquaredError(w1, b));
        // 1 + 2 + 7 rows: a per-micro-batch mean would weight the single row 7x more than the full batch does.
        var split = new List<Rows> { new(all.X[..1], all.Y[..1]), new(all.X[1..3], all.Y[1..3]), new(all.X[3..], all.Y[3..]) };
        var (w2, d2, o2) = Build();
        var r2 = d2.Step(0, split, b => b.Units, b => SquaredError(w2, b));

        Assert.Equal(r1.Loss, r2.Loss, 1e-6);
        Assert.Equal(r1.GradNorm, r2.GradNorm, 1e-6);
        Assert.Equal(10, r2.Units);
        Assert.True(w1.allclose(w2, rtol: 1e-6, atol: 1e-7), $"{w1.str()} vs {w2.str()}");
        Assert.Equal(r1.Metrics["abs_error"], r2.Metrics["abs_error"], 1e-6);
        Assert.All(new[] { w1, w2 }, w => Assert.Null(w.grad)); // gradients released after the step
        o1.Dispose();
        o2.Dispose();
    }

    [Fact]
    public void StepWithoutUnits_DoesNotMoveTheWeights()
    {
        var (w, driver, opt) = Build();
        var before = w.detach().clone();
        var empty = new Rows(torch.zeros(0, 3), torch.zeros(0));
        var r = driver.Step(0, [empty], b => b.Units, b => SquaredError(w, b));
        Assert.True(double.IsNaN(r.Loss));
        Assert.True(w.equal(before).all().item<bool>());
        opt.Dispose();
    }

    [Fact]
    public void Clipping_ReportsTheNormBeforeClipping_AndScalesTheUpdate()
    {
        var data = Data();
        var (w1, d1, o1) = Build(maxGradNorm: null);
        var (w2, d2, o2) = Build(maxGradNorm: 1e-3);
        var r1 = d1.Step(0, data, b => b.Units, b => SquaredError(w1, b));
        var r2 = d2.Step(0, data, b => b.Units, b => SquaredError(w2, b));
        Assert.Equal(r1.GradNorm, r2.GradNorm, 1e-6);      // the norm before clipping either way
        Assert.False(w1.allclose(w2));                     // a clipped gradient gives a smaller first update
        o1.Dispose();
        o2.Dispose();
    }

    [Fact]
    public void Steps_LeaveNoLiveTensors()
    {
        var data = Data();
        var (w, driver, opt) = Build();
        long step = 0;
        long growth = LiveTensors.GrowthOver(20, () => driver.Step(step++, data, b => b.Units, b => SquaredError(w, b)));
        Assert.Equal(0, growth);
        opt.Dispose();
    }
}
