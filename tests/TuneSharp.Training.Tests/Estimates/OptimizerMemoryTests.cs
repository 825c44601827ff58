using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Setup;
using Xunit;

namespace TuneSharp.Training.Tests.Estimates;

/// <summary>The estimator's optimizer state size per algorithm, checked against the bytes the real optimizers hold.</summary>
public sealed class OptimizerMemoryTests
{
    static readonly long[][] Shapes = [[64, 32], [2, 3, 300], [32]];

    static MemoryEstimateInput Input(OptimizerName name, bool momentum = false) => new()
    {
        Model = EstimatorArithmeticTests.Args(),
        DTypeBytes = 4, TrainableParameters = Shapes.Sum(s => s.Aggregate(1L, (a, d) => a * d)), AdapterTraining = false,
        MicroBatch = 1, SeqLen = 8, Optimizer = name, SgdMomentum = momentum, TrainableShapes = Shapes,
    };

    [Theory]
    [InlineData(OptimizerName.AdamW, false, 8 * 3880.0)]
    [InlineData(OptimizerName.Adam, false, 8 * 3880.0)]
    [InlineData(OptimizerName.Sgd, true, 4 * 3880.0)]
    [InlineData(OptimizerName.Sgd, false, 0.0)]
    // 2 bytes per value + 2 fp32 absmax per 256-block: [64, 32] 8 blocks, [2, 3, 300] 8 blocks (1800), [32] 1 block.
    [InlineData(OptimizerName.AdamW8bit, false, 2 * 3880.0 + 8 * (8 + 8 + 1))]
    // rows + cols: [64, 32] 64 + 32; [2, 3, 300] 2*3 + 2*300; [32] 32 (not factored).
    [InlineData(OptimizerName.Adafactor, false, 4.0 * (96 + 606 + 32))]
    public void StateBytes_MatchTheRealOptimizer(OptimizerName name, bool momentum, double expected)
    {
        Assert.Equal(expected, MemoryEstimator.OptimizerStateBytes(Input(name, momentum)));

        var parameters = Shapes.Select((s, i) => new NamedParameter($"p{i}.weight", new Parameter(torch.randn(s)))).ToList();
        using (var opt = OptimizerSetup.Create(new OptimizerSection { Name = name, Momentum = momentum ? 0.9 : 0 },
                   ParamGroups.Build(parameters, 1e-3, 0), masterWeights: false))
        {
            foreach (var p in parameters) p.Parameter.grad = torch.randn(p.Parameter.shape);
            opt.Step();
            long held = opt.StateTensors().Values.Sum(t => t.numel() * t.element_size());
            Assert.Equal(expected, held);
        }
        foreach (var p in parameters) p.Parameter.Dispose();
    }

    [Fact]
    public void MasterCopies_AddFourBytesPerNonFp32Parameter_EvenWithoutState()
    {
        var x = Input(OptimizerName.Sgd) with { DTypeBytes = 2 };
        Assert.Equal(4.0 * 3880, MemoryEstimator.Estimate(x).Optimizer);
        Assert.Equal(0.0, MemoryEstimator.Estimate(x with { MasterWeights = false }).Optimizer);
    }
}
