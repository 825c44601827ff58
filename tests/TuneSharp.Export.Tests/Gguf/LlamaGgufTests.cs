using TuneSharp.Models;
using TuneSharp.Export.Gguf;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Export.Tests.Gguf;

public sealed class LlamaGgufTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-gguf-llama-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void PermuteRope_InterleavesHalvesPerHead()
    {
        // 2 heads of D = 4, rows 0..7: HF pairs (i, i + D/2) become adjacent: head rows [0,1,2,3] -> [0,2,1,3].
        using var w = arange(8, dtype: ScalarType.Float32).reshape(8, 1);
        using var p = LlamaGguf.PermuteRope(w, 2);
        Assert.Equal([0f, 2, 1, 3, 4, 6, 5, 7], p.data<float>().ToArray());
        using var back = LlamaGguf.UnpermuteRope(p, 2);
        Assert.Equal(w.data<float>().ToArray(), back.data<float>().ToArray());
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    public void LlamaTied_ReadBack_MatchesSource(GgmlType type)
    {
        using var model = ModelLoader.Load(Fixtures.Repo("golden/llama_tied"));
        var a = model.Args;
        var path = Path.Combine(dir, $"model-{type}.gguf");
        LlamaGguf.Write(model, a, path, type);
        var r = new GgufReader(path);

        Assert.Equal("llama", r.Metadata["general.architecture"]);
        Assert.Equal(64u, r.Metadata["llama.embedding_length"]);
        Assert.Equal(2u, r.Metadata["llama.block_count"]);
        Assert.Equal(96u, r.Metadata["llama.feed_forward_length"]);
        Assert.Equal(4u, r.Metadata["llama.attention.head_count"]);
        Assert.Equal(2u, r.Metadata["llama.attention.head_count_kv"]);
        Assert.Equal(64u, r.Metadata["llama.context_length"]);
        Assert.Equal(16u, r.Metadata["llama.rope.dimension_count"]);
        Assert.Equal(10000f, r.Metadata["llama.rope.freq_base"]);
        Assert.Equal(1e-6f, r.Metadata["llama.attention.layer_norm_rms_epsilon"]);
        // Tied: token_embd + output_norm + 9 per block, no output.weight.
        Assert.Equal(2 + 9 * 2, r.Tensors.Count);
        Assert.DoesNotContain(r.Tensors, t => t.Name == "output.weight");

        foreach (var (hfName, source) in model.state_dict())
        {
            string name = LlamaGguf.GgufName(hfName)!;
            var info = r.Tensors.Single(t => t.Name == name);
            Assert.Equal(source.shape, info.TorchShape);
            Assert.Equal(source.dim() == 1 ? GgmlType.F32 : type, info.Type);
            using var read = tensor(r.ReadFloats(name), source.shape);
            int heads = name.Contains("attn_q") ? a.NumAttentionHeads : a.NumKeyValueHeads;
            using var restored = name.Contains("attn_q") || name.Contains("attn_k") ? LlamaGguf.UnpermuteRope(read, heads) : read.alias();
            // Per-row bound: Q8_0 half a step of amax/127, Q4_0 a step of amax/8, plus the fp16 scale rounding.
            using var amax = source.abs().amax([-1], keepdim: true);
            double factor = info.Type switch { GgmlType.Q8_0 => 0.5 / 127 + 5e-4, GgmlType.Q4_0 => 1.0 / 8 + 5e-4, _ => 0 };
            using var excess = (restored - source).abs() - amax * factor;
            Assert.True(excess.max().item<float>() <= 0, $"{type} {name}: error exceeds the format bound by {excess.max().item<float>()}");
            if (info.Type == GgmlType.F32) Assert.True(restored.equal(source).all().item<bool>(), $"{name}: F32 must be exact");
        }
    }

    [Fact]
    public void UnknownParameter_FailsNamingIt()
    {
        Assert.Null(LlamaGguf.GgufName("model.layers.0.self_attn.q_proj.lora_A.default.weight"));
        Assert.Equal("blk.1.ffn_down.weight", LlamaGguf.GgufName("model.layers.1.mlp.down_proj.weight"));
    }
}
