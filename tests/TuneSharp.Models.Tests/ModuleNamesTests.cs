using TuneSharp.Models;
using Xunit;

namespace TuneSharp.Models.Tests;

public class ModuleNamesTests
{
    [Fact]
    public void ParameterNames_EqualHuggingFaceNames()
    {
        var args = TinyModels.Llama(tied: false) with { QkNorm = true, QkvBias = true };
        using var model = TinyModels.Create(args);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", names);
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.Contains("model.layers.1.self_attn.k_norm.weight", names);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", names);
        Assert.Contains("model.layers.1.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Contains("lm_head.weight", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        // 2 layers x (4 proj + 3 qkv bias + 2 qk norms + 3 mlp + 2 norms) + embed + norm + lm_head
        Assert.Equal(2 * 14 + 3, names.Count);
    }

    [Fact]
    public void TiedModel_HasNoLmHeadParameter_AndUsesTheEmbedding()
    {
        using var model = TinyModels.Create(TinyModels.Llama(tied: true));
        Assert.DoesNotContain(model.named_parameters(), p => p.name == "lm_head.weight");
        Assert.Same(model.Model.EmbedTokens.Weight, model.LmHeadWeight);
    }
}
