using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Recipes;
using TuneSharp.Training.Runtime;
using Xunit;

namespace TuneSharp.Training.Tests.Recipes;

/// <summary>The parts every recipe builds the same way (the recipes' runs test them end to end; these pin what each gives).</summary>
[Collection("training")]
public sealed class RecipePartsTests
{
    [Fact]
    public async Task Parts_OfAFreshRun_BuildTheModel_TheMachinery_AndStartAtStepZero()
    {
        using var h = new TrainHarness();
        var cfg = h.Config(h.Yaml("lora", h.WriteChatData(4)), "train.grad_checkpointing=true", "model.device=cpu");
        using var directory = RunDirectory.Open(cfg.Output.Dir);
        using var observers = new CompositeObserver([]);
        var run = new RunContext(new TrainRunOptions { ResolvedYaml = ConfigLoader.ToYaml(cfg) }, directory, observers);

        using var built = await RecipeParts.BuildModelAsync(cfg, run, TestContext.Current.CancellationToken);
        Assert.Equal(TrainHarness.ModelDir, built.ModelDir);
        Assert.Equal("cpu", built.Device.ToString());
        Assert.True(built.Model.Model.GradientCheckpointing);
        Assert.True(built.Model.TrainableParameterCount > 0 && built.Model.Policy is not null);

        using var training = RecipeParts.Training(cfg, built.Model, totalSteps: 5, hasValidation: false);
        Assert.True(training.Cadence.IsLast(5) && !training.Cadence.IsLast(4));
        Assert.False(training.Cadence.EvalDue(5)); // no validation data: never

        var start = RecipeParts.Start(run, cfg, built.ModelDir, "data-fingerprint", built.Model, training.Optimizer);
        Assert.Null(start.Resume);
        Assert.Equal(TrainerState.Start, start.State);
        Assert.Equal("data-fingerprint", start.Identity.DataFingerprint);
        Assert.Equal(RunIdentity.ModelFingerprintOf(TrainHarness.ModelDir), start.Identity.ModelFingerprint);
    }
}
