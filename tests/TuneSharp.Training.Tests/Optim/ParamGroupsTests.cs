using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using TuneSharp.Training.Optim;
using Xunit;

namespace TuneSharp.Training.Tests.Optim;

public sealed class ParamGroupsTests
{
    [Fact]
    public void Build_SplitsDecayAndNoDecay_AppliesLoraPlusMultiplier_SkipsFrozen()
    {
        NamedParameter P(string name, bool trainable = true) =>
            new(name, new Parameter(torch.zeros(1), requires_grad: trainable));
        var all = new[]
        {
            P("model.embed_tokens.weight"), P("model.layers.0.input_layernorm.weight"), P("model.layers.0.self_attn.q_proj.weight"),
            P("model.layers.0.self_attn.q_proj.bias"), P("model.layers.0.self_attn.q_proj.lora_A.default.weight"),
            P("model.layers.0.self_attn.q_proj.lora_B.default.weight"), P("model.norm.weight"), P("lm_head.weight", trainable: false),
        };
        var groups = ParamGroups.Build(all, 2e-4, 0.01, lrMultipliers: [("lora_B", 16.0)]);

        Assert.Equal(["decay", "decay_lr_x16", "no_decay"], groups.Select(g => g.Name));
        Assert.Equal(["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.lora_A.default.weight"],
            groups[0].Parameters.Select(p => p.Name));
        Assert.Equal(["model.layers.0.self_attn.q_proj.lora_B.default.weight"], groups[1].Parameters.Select(p => p.Name));
        Assert.Equal(["model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.bias", "model.norm.weight"],
            groups[2].Parameters.Select(p => p.Name));
        Assert.Equal([0.01, 0.01, 0.0], groups.Select(g => g.WeightDecay));
        Assert.Equal(16 * 2e-4, groups[1].LearningRate(1.0), 15);
        foreach (var p in all) p.Parameter.Dispose();
    }

    [Fact]
    public void Build_CustomNoDecayList_ReplacesTheDefault()
    {
        using var a = new Parameter(torch.zeros(1));
        using var b = new Parameter(torch.zeros(1));
        var groups = ParamGroups.Build([new("x.bias", a), new("x.scale", b)], 1e-3, 0.1, noDecay: ["scale"]);
        Assert.Equal("x.bias", Assert.Single(groups.Single(g => g.Name == "decay").Parameters).Name);
        Assert.Equal("x.scale", Assert.Single(groups.Single(g => g.Name == "no_decay").Parameters).Name);
    }
}
