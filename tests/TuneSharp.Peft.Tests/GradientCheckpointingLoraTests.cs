using TuneSharp.Models;
using TuneSharp.Peft.Quantization;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

/// <summary>
/// Gradient checkpointing with adapters: frozen base (the embedding output does not require grad), trainable adapters,
/// active LoRA dropout. The recomputation must replay the same dropout masks, so the loss and every adapter gradient
/// are bit-identical to a plain forward/backward from the same seed.
/// These tests read the process-wide default generator, so they run alone (other classes draw from it in parallel).
/// </summary>
[Collection(GlobalRngCollection.Name)]
public sealed class GradientCheckpointingLoraTests
{
    const long DropoutSeed = 1234;

    static CausalLM Load(string variant, bool checkpointing)
    {
        var settings = Tiny.Lora(LoraSettings.AllLinear) with { Dropout = 0.1 };
        settings = variant switch
        {
            "lora" => settings,
            "dora" => settings with { UseDora = true },
            "qlora" => settings with { Quant = new QuantSettings(4) },
            _ => throw new ArgumentException(variant),
        };
        var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir, seed: 5);
        Tiny.Randomize(model, 6); // non-zero B, so every adapter factor gets a gradient
        model.GradientCheckpointing = checkpointing;
        return model;
    }

    /// <summary>One training step from a fixed RNG state (the dropout masks); gradients stay in the parameters.</summary>
    static float Step(CausalLM model, Tensor ids, long seed = DropoutSeed)
    {
        using var scope = NewDisposeScope();
        manual_seed(seed);
        var logits = model.forward(ids);
        var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, 256), ids[.., 1..].reshape(-1));
        loss.backward();
        return loss.item<float>();
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("qlora")]
    public void Dropout_LossAndAdapterGradients_AreBitIdentical_FrozenGetNone(string variant)
    {
        using var plain = Load(variant, checkpointing: false);
        using var ckpt = Load(variant, checkpointing: true);
        using var ids = Tiny.Ids();
        float expected = Step(plain, ids);
        Assert.Equal(expected, Step(ckpt, ids));

        var act = ckpt.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        int adapterParams = 0;
        foreach (var (name, p) in plain.named_parameters())
        {
            using var ge = p.grad;
            using var ga = act[name].grad;
            if (!AdapterModel.IsAdapterParameter(name))
            {
                Assert.True(ge is null && ga is null, $"frozen {name} got a gradient");
                continue;
            }
            adapterParams++;
            Assert.True(ge is not null && ga is not null, $"{name}: no gradient");
            Assert.True(ga.abs().sum().item<float>() > 0, $"{name}: zero gradient");
            float diff = (ge - ga).abs().max().item<float>();
            Assert.True(diff == 0f, $"{name}: gradients differ by {diff:E3}");
        }
        Assert.True(adapterParams >= 2 * 7 * 2, $"only {adapterParams} adapter parameters"); // 2 layers x 7 projections x (A, B)
    }

    [Fact]
    public void Dropout_IsActive_SoTheSeedMatters()
    {
        // Guards the test above: with inactive dropout, replaying the RNG state would be untested.
        using var model = Load("lora", checkpointing: true);
        using var ids = Tiny.Ids();
        float a = Step(model, ids, seed: 1);
        model.zero_grad();
        float b = Step(model, ids, seed: 2);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void CheckpointingChangesNothingForTheRngStream()
    {
        // After a step the default generator is where a plain step leaves it (the recomputation restores it).
        using var plain = Load("lora", checkpointing: false);
        using var ckpt = Load("lora", checkpointing: true);
        using var ids = Tiny.Ids();
        Step(plain, ids);
        using var afterPlain = rand(4);
        Step(ckpt, ids);
        using var afterCkpt = rand(4);
        Assert.True(afterPlain.equal(afterCkpt).all().item<bool>());
    }

    [Fact]
    public void LoraSteps_Repeated_LeaveNoLiveTensors()
    {
        using var model = Load("lora", checkpointing: true);
        using var ids = Tiny.Ids();
        long growth = LiveTensors.GrowthOver(4, () =>
        {
            Step(model, ids);
            model.zero_grad();
        });
        Assert.Equal(0, growth);
    }
}

/// <summary>Tests that depend on the default (process-wide) RNG: run after the parallel tests, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "global RNG";
}
