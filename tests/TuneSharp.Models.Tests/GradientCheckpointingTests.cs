using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Models.Tests;

/// <summary>
/// Activation recomputation must not change the math: the loss and every parameter gradient are bit-identical to a
/// plain forward/backward (same kernels in the same order, only run twice), and nothing leaks.
/// </summary>
public class GradientCheckpointingTests
{
    static Tensor Ids(long seed, int batch = 2, int t = 12)
    {
        using var g = new Generator().manual_seed(seed);
        return randint(0, 256, [batch, t], dtype: ScalarType.Int64, generator: g);
    }

    /// <summary>One training step: returns the loss; gradients are left in the parameters.</summary>
    static float Step(CausalLM model, Tensor ids)
    {
        using var scope = NewDisposeScope();
        var logits = model.Forward(ids);
        var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, model.Args.VocabSize), ids[.., 1..].reshape(-1));
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>Asserts every parameter's gradient is bit-identical (or absent in both).</summary>
    static void AssertSameGradients(CausalLM expected, CausalLM actual)
    {
        var act = actual.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in expected.named_parameters())
        {
            using var ge = p.grad;
            using var ga = act[name].grad;
            Assert.True((ge is null) == (ga is null), $"{name}: gradient present in only one run");
            if (ge is null || ga is null) continue;
            using var diff = (ge - ga).abs().max();
            Assert.True(diff.item<float>() == 0f, $"{name}: gradients differ by {diff.item<float>():E3}");
        }
    }

    static (CausalLM Plain, CausalLM Checkpointed) Pair(DecoderArgs args)
    {
        var plain = TinyModels.Create(args, seed: 7);
        var ckpt = TinyModels.Create(args, seed: 7);
        ckpt.GradientCheckpointing = true;
        return (plain, ckpt);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void FullFineTune_LossAndGradients_AreBitIdentical(bool tied, bool qkNormAndBias)
    {
        var args = TinyModels.Llama(tied) with { NumHiddenLayers = 3, QkNorm = qkNormAndBias, QkvBias = qkNormAndBias };
        var (plain, ckpt) = Pair(args);
        using (plain)
        using (ckpt)
        using (var ids = Ids(1))
        {
            float expected = Step(plain, ids);
            float actual = Step(ckpt, ids);
            Assert.Equal(expected, actual);
            AssertSameGradients(plain, ckpt);
            Assert.NotNull(ckpt.Model.Layers[0].parameters().First().grad); // gradients did reach the layers
        }
    }

    [Fact]
    public void TwoAccumulatedBackwards_AreNotDoubleCounted()
    {
        var (plain, ckpt) = Pair(TinyModels.Llama());
        using (plain)
        using (ckpt)
        using (var a = Ids(2))
        using (var b = Ids(3))
        {
            Step(plain, a);
            Step(plain, b);
            Step(ckpt, a);
            Step(ckpt, b);
            AssertSameGradients(plain, ckpt);
        }
    }

    [Fact]
    public void FrozenEmbeddingsAndLayer_TrainableRest_GetTheSameGradients_FrozenGetNone()
    {
        // Layer 0's input (the embedding output) does not require grad: its parameters must still get gradients.
        var (plain, ckpt) = Pair(TinyModels.Llama(tied: false));
        using (plain)
        using (ckpt)
        using (var ids = Ids(4))
        {
            foreach (var m in new[] { plain, ckpt })
            {
                m.Model.EmbedTokens.Weight.requires_grad = false;
                foreach (var p in m.Model.Layers[1].parameters()) p.requires_grad = false;
            }
            Assert.Equal(Step(plain, ids), Step(ckpt, ids));
            AssertSameGradients(plain, ckpt);
            Assert.Null(ckpt.Model.EmbedTokens.Weight.grad);
            Assert.All(ckpt.Model.Layers[1].parameters(), p => Assert.Null(p.grad));
            Assert.All(ckpt.Model.Layers[0].parameters(), p => Assert.NotNull(p.grad));
        }
    }

    [Fact]
    public void NoGradAndCachedForwards_IgnoreTheFlag()
    {
        var (plain, ckpt) = Pair(TinyModels.Llama());
        using (plain)
        using (ckpt)
        using (var scope = NewDisposeScope())
        {
            var ids = Ids(5, batch: 1, t: 6);
            using var _ = no_grad();
            Assert.True(plain.Forward(ids).equal(ckpt.Forward(ids)).all().item<bool>());
            using var cache = ckpt.NewCache(1, 8);
            var cached = ckpt.Forward(ids, cache: cache);
            Assert.Equal(6, cache.Length);
            Assert.True(cached.allclose(plain.Forward(ids), rtol: 0, atol: 1e-5)); // cache path: different kernel order
        }
    }

    [Fact]
    public void CheckpointedSteps_Repeated_LeaveNoLiveTensors()
    {
        using var model = TinyModels.Create(TinyModels.Llama(tied: false) with { QkNorm = true });
        model.GradientCheckpointing = true;
        using var ids = Ids(6);
        long growth = LiveTensors.GrowthOver(5, () =>
        {
            Step(model, ids);
            model.zero_grad();
        });
        Assert.Equal(0, growth);
    }
}
