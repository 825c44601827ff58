using TuneSharp.Models;
using TuneSharp.Models.Common;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public sealed class PolicyTests
{
    const string Q = "model.layers.3.self_attn.q_proj";
    const string K = "model.layers.3.self_attn.k_proj";
    const string O = "model.layers.0.self_attn.o_proj";
    const string Down = "model.layers.1.mlp.down_proj";
    const string Head = "lm_head";

    [Theory]
    // suffix list: equal or ends with "." + name; never a bare substring
    [InlineData("q_proj", Q, true)]
    [InlineData("q_proj", K, false)]
    [InlineData("proj", Q, false)]
    [InlineData("self_attn.q_proj", Q, true)]
    [InlineData("layers.3.self_attn.q_proj", Q, true)]
    [InlineData("ayers.3.self_attn.q_proj", Q, false)]
    [InlineData(Q, Q, true)]
    [InlineData("down_proj", Down, true)]
    public void SuffixTargets_FollowPeft(string target, string path, bool expected) =>
        Assert.Equal(expected, new LoraPolicy(Tiny.Lora(target)).IsTarget(path));

    [Theory]
    [InlineData(@".*\.(q|k)_proj", Q, true)]
    [InlineData(@".*\.(q|k)_proj", K, true)]
    [InlineData(@".*\.(q|k)_proj", O, false)]
    [InlineData(@"q_proj", Q, false)]                              // full match, not search
    [InlineData(@"model\.layers\.[0-2]\..*", O, true)]
    [InlineData(@"model\.layers\.[0-2]\..*", Q, false)]
    public void RegexTarget_IsAFullMatch(string regex, string path, bool expected) =>
        Assert.Equal(expected, new LoraPolicy(Tiny.Lora("unused") with { TargetRegex = regex }).IsTarget(path));

    [Fact]
    public void AllLinear_TakesEveryProjectionButTheHead()
    {
        var p = new LoraPolicy(Tiny.Lora(LoraSettings.AllLinear));
        Assert.True(p.IsTarget(Q));
        Assert.True(p.IsTarget(Down));
        Assert.False(p.IsTarget(Head));
    }

    [Fact]
    public void Exclude_WinsOverTargets()
    {
        var p = new LoraPolicy(Tiny.Lora(LoraSettings.AllLinear) with { Exclude = ["o_proj", "layers.1.mlp.down_proj"] });
        Assert.True(p.IsTarget(Q));
        Assert.False(p.IsTarget(O));
        Assert.False(p.IsTarget(Down));
        Assert.True(p.IsTarget("model.layers.0.mlp.down_proj"));
        var r = new LoraPolicy(Tiny.Lora("q_proj", "k_proj") with { ExcludeRegex = @".*layers\.3\.self_attn\.k_proj" });
        Assert.False(r.IsTarget(K));
        Assert.True(r.IsTarget(Q));
    }

    [Fact]
    public void RankAndAlphaPatterns_FirstMatchingKeyWins()
    {
        var s = Tiny.Lora(LoraSettings.AllLinear) with
        {
            RankPattern = new Dictionary<string, int> { ["layers.3.self_attn.q_proj"] = 16, ["q_proj"] = 2, [@"layers\.\d\.mlp\..*"] = 6 },
            AlphaPattern = new Dictionary<string, double> { ["o_proj"] = 3 },
        };
        var p = new LoraPolicy(s);
        Assert.Equal(16, p.Plan(Q)!.R);
        Assert.Equal(2, p.Plan("model.layers.2.self_attn.q_proj")!.R);
        Assert.Equal(6, p.Plan(Down)!.R);
        Assert.Equal(4, p.Plan(K)!.R);                    // default r
        Assert.Equal(3, p.Plan(O)!.Alpha);
        Assert.Equal(8, p.Plan(Q)!.Alpha);                // default alpha
        Assert.Equal(8.0 / 16, p.Plan(Q)!.Scaling, 12);   // alpha / r
        Assert.Equal(3.0 / 4, p.Plan(O)!.Scaling, 12);
        Assert.Null(p.Plan(Head));
    }

    [Fact]
    public void Rslora_ScalesByRootOfRank()
    {
        var p = new LoraPolicy(LoraSettings.Create(16, 8, "q_proj") with { UseRslora = true });
        Assert.Equal(8.0 / 4, p.Plan(Q)!.Scaling, 12);
    }

    [Fact]
    public void Factory_ReturnsTheRightLayerKind()
    {
        static Type Kind(LoraSettings s, string path) =>
            new LoraPolicy(s).Create(path, 64, 32, false, ScalarType.Float32).GetType();
        var lora = Tiny.Lora("q_proj");
        Assert.Equal(typeof(LoraLinear), Kind(lora, Q));
        Assert.Equal(typeof(DenseLinear), Kind(lora, K));
        var dora = Assert.IsType<LoraLinear>(new LoraPolicy(lora with { UseDora = true }).Create(Q, 64, 32, false, ScalarType.Float32));
        Assert.NotNull(dora.Magnitude);
        var q4 = lora with { Quant = new QuantSettings(4) };
        Assert.Equal(typeof(QLoraLinear), Kind(q4, Q));
        Assert.Equal(typeof(QuantizedLinear), Kind(q4, K));
    }

    [Fact]
    public void ParameterNames_AreThoseOfPeft()
    {
        var policy = new LoraPolicy(Tiny.Lora("q_proj") with { UseDora = true });
        using var model = new CausalLM(Tiny.Args(), ScalarType.Float32, policy);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_B.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_magnitude_vector", names);
        Assert.Contains("model.layers.1.self_attn.k_proj.weight", names);
        Assert.DoesNotContain("model.layers.1.self_attn.k_proj.lora_A.weight", names);
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"], policy.AdaptedPaths);
    }

    [Fact]
    public void InvalidSettings_NameTheField()
    {
        Assert.Contains("rank_pattern", Assert.Throws<ArgumentException>(() =>
            new LoraPolicy(Tiny.Lora("q_proj") with { RankPattern = new Dictionary<string, int> { ["(("] = 2 } })).Message);
        Assert.Contains("init_lora_weights", Assert.Throws<ArgumentException>(() => new LoraPolicy(Tiny.Lora("q_proj") with { Init = "pissa" })).Message);
        Assert.Contains("bits", Assert.Throws<ArgumentException>(() => new LoraPolicy(Tiny.Lora("q_proj") with { Quant = new QuantSettings(3) })).Message);
    }
}
