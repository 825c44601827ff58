using System.Text.Json;
using TuneSharp.Testing;
using TuneSharp.Training.Losses.Preference;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Training.Tests.Losses;

/// <summary>
/// Each preference loss against an independent torch implementation of its paper / TRL formula
/// (tools/golden_pref/make_pref_losses.py, float64): per-pair losses, rewards and the gradient of the summed loss with
/// respect to every log-prob input. Computed here in float64 too, so the tolerance is 1e-12 (relative to magnitude 1).
/// </summary>
public sealed class PreferenceLossGoldenTests
{
    const double Tol = 1e-12;
    static readonly JsonElement Golden = JsonDocument.Parse(File.ReadAllText(Fixtures.Repo("preference/losses.json"))).RootElement;

    static Tensor Input(string name) => tensor(Golden.GetProperty("inputs").GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray(), dtype: ScalarType.Float64);
    static Tensor Leaf(string name) => Input(name).requires_grad_(true);

    static void Check(string key, PairLoss result, params (string Name, Tensor Leaf)[] leaves)
    {
        var g = Golden.GetProperty(key);
        result.Losses.sum().backward();
        Near(g.GetProperty("losses"), result.Losses, $"{key} losses");
        Near(g.GetProperty("chosen_rewards"), result.ChosenRewards, $"{key} chosen rewards");
        Near(g.GetProperty("rejected_rewards"), result.RejectedRewards, $"{key} rejected rewards");
        foreach (var (name, leaf) in leaves)
            Near(g.GetProperty("grads").GetProperty(name), leaf.grad ?? zeros_like(leaf), $"{key} d/d{name}");
        Assert.False(result.ChosenRewards.requires_grad, $"{key}: rewards must be detached");
    }

    static void Near(JsonElement expected, Tensor actual, string what)
    {
        var e = expected.EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var a = actual.detach().reshape(-1).data<double>().ToArray();
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= Tol * Math.Max(1, Math.Abs(e[i])), $"{what}[{i}]: expected {e[i]:R}, got {a[i]:R}");
    }

    [Theory]
    [InlineData("dpo_sigmoid", DpoLossType.Sigmoid, 0.0)]
    [InlineData("dpo_sigmoid_smoothed", DpoLossType.Sigmoid, 0.2)]
    [InlineData("dpo_robust", DpoLossType.Robust, 0.2)]
    [InlineData("dpo_hinge", DpoLossType.Hinge, 0.0)]
    public void Dpo_MatchesTheReference(string key, DpoLossType type, double smoothing)
    {
        using var scope = NewDisposeScope();
        var (pc, pr, rc, rr) = (Leaf("pc"), Leaf("pr"), Leaf("rc"), Leaf("rr"));
        Check(key, DpoLoss.Compute(type, pc, pr, rc, rr, beta: 0.1, smoothing), ("pc", pc), ("pr", pr), ("rc", rc), ("rr", rr));
    }

    [Fact]
    public void Ipo_MatchesTheReference_OnMeanLogProbs()
    {
        using var scope = NewDisposeScope();
        var (pc, pr) = (Leaf("mc"), Leaf("mr"));
        var (rc, rr) = ((Input("mr") * 0.9).requires_grad_(true), (Input("mc") * 1.1).requires_grad_(true));
        Check("dpo_ipo", DpoLoss.Compute(DpoLossType.Ipo, pc, pr, rc, rr, beta: 0.1), ("pc", pc), ("pr", pr), ("rc", rc), ("rr", rr));
    }

    [Fact]
    public void SimPo_MatchesTheReference()
    {
        using var scope = NewDisposeScope();
        var (c, r) = (Leaf("mc"), Leaf("mr"));
        Check("simpo", SimPoLoss.Compute(c, r, beta: 2.0, gamma: 0.5), ("c", c), ("r", r));
    }

    [Fact]
    public void Orpo_MatchesTheReference()
    {
        using var scope = NewDisposeScope();
        var (c, r) = (Leaf("mc"), Leaf("mr"));
        Check("orpo", OrpoLoss.Compute(c, r, beta: 0.1).Pair, ("c", c), ("r", r));
    }

    [Fact]
    public void Kto_MatchesTheReference()
    {
        using var scope = NewDisposeScope();
        var (p, r, kp, kr) = (Leaf("pc"), Leaf("rc"), Leaf("kp"), Leaf("kr"));
        var desirable = tensor(Golden.GetProperty("inputs").GetProperty("desirable").EnumerateArray().Select(e => e.GetBoolean()).ToArray());
        Check("kto", KtoLoss.Compute(p, r, desirable, kp, kr, beta: 0.1, desirableWeight: 1.0, undesirableWeight: 1.33), ("p", p), ("r", r), ("kp", kp), ("kr", kr));
    }

    [Theory]
    [InlineData("reward", false)]
    [InlineData("reward_margin", true)]
    public void Reward_MatchesTheReference(string key, bool withMargin)
    {
        using var scope = NewDisposeScope();
        var (c, r) = (Leaf("sc"), Leaf("sr"));
        Check(key, RewardLoss.Compute(c, r, withMargin ? Input("margin") : null), ("c", c), ("r", r));
    }

    [Fact]
    public void Dpo_WithPolicyEqualToReference_IsLn2_AndZeroRewards()
    {
        using var scope = NewDisposeScope();
        var logp = Input("pc");
        var rej = Input("pr");
        var result = DpoLoss.Compute(DpoLossType.Sigmoid, logp, rej, logp, rej, beta: 0.1);
        Assert.All(result.Losses.data<double>().ToArray(), l => Assert.Equal(Math.Log(2), l, 12));
        Assert.All(result.ChosenRewards.data<double>().ToArray(), r => Assert.Equal(0, r, 12));
        Assert.All(result.RejectedRewards.data<double>().ToArray(), r => Assert.Equal(0, r, 12));
    }
}
