using TuneSharp.Data.Batching;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Setup;
using TuneSharp.Training.Tests.Recipes;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>
/// The DPO micro-batch objective against an independent computation: the policy's log-probs from full logits
/// (<see cref="SequenceLogProbs.Reference"/>) of a LoRA model whose B is not zero, the reference's from a separately
/// built model without adapters, and the pure <see cref="DpoLoss"/> on them.
/// </summary>
[Collection("training")]
public sealed class DpoObjectiveTests
{
    sealed class Setup : IDisposable
    {
        public required TrainableModel Policy { get; init; }
        public required TrainableModel Base { get; init; }
        public required TrainBatch Batch { get; init; }
        public required TrainConfig Config { get; init; }
        public void Dispose()
        {
            Policy.Dispose();
            Base.Dispose();
        }
    }

    static Setup Build(TrainHarness h, params string[] overrides)
    {
        string data = h.WritePreferenceData(6);
        var cfg = h.Config(h.Yaml("lora", data), ["method.stage=dpo", .. overrides]);
        var policy = ModelSetup.Build(cfg, TrainHarness.ModelDir, ScalarType.Float32);
        manual_seed(3);
        using (no_grad())
            foreach (var (name, p) in policy.Model.named_parameters())
                if (name.Contains("lora_B")) p.normal_(0, 0.05); // policy != reference
        var full = ModelSetup.Build(h.Config(h.Yaml("full", data)), TrainHarness.ModelDir, ScalarType.Float32);
        policy.Model.eval();
        full.Model.eval();
        var pairs = PairDataSetup.Prepare(cfg, policy.Tokenizer, TrainHarness.ModelDir, cfg.Method.Dpo.PromptTruncation, TestContext.Current.CancellationToken).Train;
        return new Setup { Policy = policy, Base = full, Batch = PairDataSetup.Collate([.. pairs.Take(3)], padId: 0), Config = cfg };
    }

    static SequenceScores LogProbs(TrainableModel m, BatchTensors t) =>
        SequenceLogProbs.Reference(m.Model.Hidden(t.Ids, t.Positions), m.Model.LmHeadWeight, t.Labels);

    [Theory]
    [InlineData("sigmoid", null)]
    [InlineData("robust", null)]
    [InlineData("hinge", null)]
    [InlineData("ipo", null)]
    [InlineData("sigmoid", "0.5")]
    public void Loss_AndMetrics_EqualTheFormula_OnIndependentLogProbs(string lossType, string? rpoAlpha)
    {
        using var h = new TrainHarness();
        using var s = Build(h, $"method.dpo.loss_type={lossType}", "method.dpo.label_smoothing=0.1", "method.dpo.beta=0.2",
            $"method.dpo.rpo_alpha={rpoAlpha ?? "null"}");
        using var scope = NewDisposeScope();
        var settings = s.Config.Method.Dpo;
        var t = BatchTensors.Of(s.Batch, s.Policy.Device);
        var policy = LogProbs(s.Policy, t);
        var reference = LogProbs(s.Base, t);
        // IPO on per-token means (TRL), the others on sums.
        Tensor Logp(SequenceScores x) => lossType == "ipo" ? x.LogProbSum / x.TokenCount.to(ScalarType.Float32) : x.LogProbSum;
        var (pl, rl) = (Logp(policy), Logp(reference));
        var expected = DpoLoss.Compute(settings.LossType, pl[..3], pl[3..], rl[..3], rl[3..], 0.2, 0.1);
        double expectedSum = expected.Losses.sum().item<float>();
        if (rpoAlpha is not null)
            expectedSum += 0.5 * 3 * -(policy.LogProbSum[..3].sum() / policy.TokenCount[..3].sum()).item<float>();

        var actual = new DpoObjective(settings).Loss(s.Policy.Model, s.Batch);
        var metrics = new MetricSums();
        metrics.Add(actual.Metrics!);
        var means = metrics.Means();

        Assert.True(Math.Abs(actual.Sum.item<float>() - expectedSum) <= 1e-4 * Math.Max(1, Math.Abs(expectedSum)), $"{actual.Sum.item<float>()} vs {expectedSum}");
        Assert.True(expectedSum > 0);
        Close(expected.ChosenRewards.mean().item<float>(), means["rewards/chosen"]);
        Close(expected.RejectedRewards.mean().item<float>(), means["rewards/rejected"]);
        Close((expected.ChosenRewards - expected.RejectedRewards).mean().item<float>(), means["rewards/margins"]);
        Close(expected.ChosenRewards.gt(expected.RejectedRewards).to(ScalarType.Float32).mean().item<float>(), means["rewards/accuracies"]);
        Close(pl[..3].mean().item<float>(), means["logps/chosen"]);
        Close(pl[3..].mean().item<float>(), means["logps/rejected"]);
        Assert.Equal(rpoAlpha is not null, means.ContainsKey("nll_loss"));
        Assert.NotEqual(0.0, means["rewards/margins"]);
    }

    [Fact]
    public void AdaptersDisabled_ReproduceTheModelWithoutAdapters_BitForBit()
    {
        using var h = new TrainHarness();
        using var s = Build(h);
        using var scope = NewDisposeScope();
        var t = BatchTensors.Of(s.Batch, s.Policy.Device);
        Tensor disabled;
        using (no_grad())
        using (Peft.AdapterModel.AdaptersDisabled(s.Policy.Model))
            disabled = SequenceLogProbs.Compute(s.Policy.Model.Hidden(t.Ids, t.Positions), s.Policy.Model.LmHeadWeight, t.Labels).LogProbSum;
        Tensor plain;
        using (no_grad())
            plain = SequenceLogProbs.Compute(s.Base.Model.Hidden(t.Ids, t.Positions), s.Base.Model.LmHeadWeight, t.Labels).LogProbSum;
        Tensor enabled;
        using (no_grad())
            enabled = SequenceLogProbs.Compute(s.Policy.Model.Hidden(t.Ids, t.Positions), s.Policy.Model.LmHeadWeight, t.Labels).LogProbSum;
        Assert.True(disabled.equal(plain).all().item<bool>(), $"max diff {(disabled - plain).abs().max().item<float>()}");
        Assert.False(enabled.equal(plain).all().item<bool>(), "the adapters changed nothing: the test would prove nothing");
    }

    static void Close(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"{actual} vs {expected}");
}
