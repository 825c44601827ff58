using TuneSharp.Data.Batching;
using TuneSharp.Testing;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Setup;
using TuneSharp.Training.Tests.Recipes;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Estimates;

/// <summary>The probe micro-batch behind the estimates measures real costs and leaves no trace on the run.</summary>
[Collection("training")]
public sealed class StepProbeTests
{
    static (TrainableModel Model, TrainBatch Large, TrainBatch Small) LoraWithDropout(TrainHarness h)
    {
        var cfg = h.Config(h.Yaml("lora", h.WriteChatData(8)), "method.lora.dropout=0.3", "train.micro_batch_size=2");
        var model = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        var data = DataSetup.Prepare(cfg, model.Tokenizer);
        var epoch = BatchPlan.For(cfg, data.Train, padId: 0).EpochBatches(0);
        return (model, epoch.MaxBy(b => b.Rows * b.Length)!, epoch.MinBy(b => b.Rows * b.Length)!);
    }

    static MicroLoss Loss(TrainableModel model, TrainBatch b)
    {
        var t = BatchTensors.Of(b, model.Device);
        var hidden = model.Model.Hidden(t.Ids, t.Positions, segmentIds: t.Segments);
        return new MicroLoss(CausalLmLoss.Compute(hidden, model.Model.LmHeadWeight, t.Labels).SumLoss);
    }

    [Fact]
    public void Probe_KeepsTheTrainingRng_ReleasesGradients_AndRestoresTheMode()
    {
        using var h = new TrainHarness();
        var (model, large, small) = LoraWithDropout(h);
        Assert.True(large.Length > small.Length, "the data must give micro-batches of different lengths");
        using var _ = model;
        manual_seed(11);
        model.Model.train();
        using var before = random.get_rng_state();

        var probe = StepProbe.Measure(model, b => Loss(model, b), large, small);

        using var after = random.get_rng_state();
        Assert.True(before.eq(after).all().item<bool>(), "the probe consumed the training RNG (dropout masks would change)");
        Assert.All(model.Trainable, p => Assert.True(p.Parameter.grad is null, $"{p.Name} kept a gradient"));
        Assert.True(model.Model.training);
        Assert.True(probe.TrainSecondsPerToken > 0 && probe.ForwardSecondsPerToken > 0 && probe.DecodeStepSeconds > 0, $"{probe}");
        Assert.True(probe.TrainSecondsPerBatch >= 0 && probe.ForwardSecondsPerBatch >= 0, $"{probe}");
        if (OperatingSystem.IsLinux()) Assert.True(probe.PeakRssBytes > 0, $"{probe}");
    }

    [Fact]
    public void Probe_LeaksNoTensors()
    {
        using var h = new TrainHarness();
        var (model, large, small) = LoraWithDropout(h);
        using var _ = model;
        Assert.Equal(0, LiveTensors.GrowthOver(2, () => StepProbe.Measure(model, b => Loss(model, b), large, small)));
    }
}
