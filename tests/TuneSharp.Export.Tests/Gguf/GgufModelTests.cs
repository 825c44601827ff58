using TuneSharp.Export.Gguf;
using TuneSharp.Models;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Export.Tests.Gguf;

public sealed class GgufModelTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-gguf-model-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void PermuteRope_InterleavesHalvesPerHead()
    {
        // 2 heads of D = 4, rows 0..7: HF pairs (i, i + D/2) become adjacent: head rows [0,1,2,3] -> [0,2,1,3].
        using var w = arange(8, dtype: ScalarType.Float32).reshape(8, 1);
        using var p = GgufModel.PermuteRope(w, 2);
        Assert.Equal([0f, 2, 1, 3, 4, 6, 5, 7], p.data<float>().ToArray());
        using var back = GgufModel.UnpermuteRope(p, 2);
        Assert.Equal(w.data<float>().ToArray(), back.data<float>().ToArray());
    }

    /// <summary>
    /// Per-value error bounds, per 32-value block with amax = max |x| of the block: f32 exact; f16 2^-11 |x| (+ 2^-24 for
    /// subnormals); bf16 2^-8 |x|; q8_0 d/2 = amax/254 plus the fp16 rounding of d (2^-11 relative) times |q| <= 127;
    /// q4_0 one step d = amax/8 (the clamp at 15 for the value opposite the max) plus fp16 rounding of d times 8.
    /// </summary>
    static Tensor Bound(Tensor source, GgmlType type)
    {
        var blockAmax = source.reshape(-1, 32).abs().amax([-1], keepdim: true).expand(-1, 32).reshape(source.shape);
        return type switch
        {
            GgmlType.F32 => zeros_like(source),
            GgmlType.F16 => source.abs() * Math.Pow(2, -11) + Math.Pow(2, -24),
            GgmlType.BF16 => source.abs() * Math.Pow(2, -8),
            GgmlType.Q8_0 => blockAmax * (0.5 / 127 + 127 * Math.Pow(2, -11) / 127),
            GgmlType.Q4_0 => blockAmax * (1.0 / 8 + 8 * Math.Pow(2, -11) / 8),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    public void Stories260K_ReadBack_MetadataTokenizerAndTensorsMatchSource(GgmlType type)
    {
        string modelDir = Fixtures.Get("models/stories260K-hf");
        using var model = ModelLoader.Load(modelDir);
        var tok = HfTokenizer.Load(modelDir);
        var a = model.Args;
        var path = Path.Combine(dir, $"stories-{type}.gguf");
        var result = GgufModel.Write(model, tok, path, type);
        var r = new GgufReader(path);
        var m = r.Metadata;

        // Hyper-parameters against config.json (hidden 64, 5 layers, 8 heads, 4 KV heads, FFN 172, context 512).
        Assert.Equal("llama", m["general.architecture"]);
        Assert.Equal(type switch { GgmlType.F32 => 0u, GgmlType.F16 => 1u, GgmlType.Q4_0 => 2u, GgmlType.Q8_0 => 7u, _ => 32u }, m["general.file_type"]);
        Assert.Equal(512u, m["llama.context_length"]);
        Assert.Equal(64u, m["llama.embedding_length"]);
        Assert.Equal(5u, m["llama.block_count"]);
        Assert.Equal(172u, m["llama.feed_forward_length"]);
        Assert.Equal(8u, m["llama.attention.head_count"]);
        Assert.Equal(4u, m["llama.attention.head_count_kv"]);
        Assert.Equal(8u, m["llama.rope.dimension_count"]);
        Assert.Equal(10000f, m["llama.rope.freq_base"]);
        Assert.Equal(1e-5f, m["llama.attention.layer_norm_rms_epsilon"]);
        Assert.Equal(512u, m["llama.vocab_size"]);
        Assert.DoesNotContain("llama.rope.scaling.type", m.Keys);

        // Tokenizer: SentencePiece-style BPE with byte fallback -> "llama"; every token text and type against tokenizer.json.
        Assert.Equal("llama", m["tokenizer.ggml.model"]);
        var tokens = (string[])m["tokenizer.ggml.tokens"];
        var types = (int[])m["tokenizer.ggml.token_type"];
        Assert.Equal(512, tokens.Length);
        Assert.Equal(512, ((float[])m["tokenizer.ggml.scores"]).Length);
        for (int id = 0; id < 512; id++)
        {
            Assert.Equal(tok.IdToToken(id), tokens[id]);
            int expectedType = id switch { 0 => 2, 1 or 2 => 3, >= 3 and < 259 => 6, _ => 1 }; // unk, control, <0x00>..<0xFF>, normal
            Assert.True(expectedType == types[id], $"token {id} '{tokens[id]}': type {types[id]}, expected {expectedType}");
        }
        Assert.Equal("<0x0A>", tokens[3 + 10]);
        Assert.Equal(1u, m["tokenizer.ggml.bos_token_id"]);
        Assert.Equal(2u, m["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(0u, m["tokenizer.ggml.unknown_token_id"]);
        Assert.DoesNotContain("tokenizer.ggml.padding_token_id", m.Keys); // pad_token is null
        Assert.Equal(true, m["tokenizer.ggml.add_bos_token"]);
        Assert.Equal(false, m["tokenizer.ggml.add_eos_token"]);
        Assert.DoesNotContain("tokenizer.chat_template", m.Keys);

        // Tensors: tied embeddings -> no output.weight; FFN 172 is not a multiple of 32, so a quantized ffn_down stays F32 (exact).
        Assert.Equal(2 + 9 * 5, r.Tensors.Count);
        Assert.DoesNotContain(r.Tensors, t => t.Name == "output.weight");
        int block = GgmlQuant.Layout(type).Values;
        Assert.Equal(block == 1 ? 0 : 5, result.KeptF32.Count(n => n.EndsWith("ffn_down.weight")));
        foreach (var (hfName, source) in model.state_dict())
        {
            string name = GgufArchitecture.TensorName(hfName)!;
            var info = r.Tensors.Single(t => t.Name == name);
            Assert.Equal(source.shape, info.TorchShape);
            var expectedType = source.dim() == 1 || source.shape[^1] % block != 0 ? GgmlType.F32 : type;
            Assert.Equal(expectedType, info.Type);
            using var scope = NewDisposeScope();
            var read = tensor(r.ReadFloats(name), source.shape);
            // Un-permute Q/K rows (llama.cpp's RoPE layout) before comparing with the HF weights.
            var restored = name.Contains("attn_q.") ? GgufModel.UnpermuteRope(read, a.NumAttentionHeads)
                : name.Contains("attn_k.") ? GgufModel.UnpermuteRope(read, a.NumKeyValueHeads) : read;
            var excess = (restored - source).abs() - Bound(source, info.Type);
            Assert.True(excess.max().item<float>() <= 0, $"{type} {name}: error exceeds the format bound by {excess.max().item<float>()}");
            if (info.Type == GgmlType.F32) Assert.True(restored.equal(source).all().item<bool>(), $"{name}: F32 must be exact");
        }
    }

    [Fact]
    public void Architectures_MapModelTypes_AndRejectUnsupportedWithTheKey()
    {
        using var qwen2 = ModelLoader.Load(Fixtures.Repo("golden/qwen2"));
        Assert.Equal(new GgufArchitecture("qwen2", PermuteQk: false), GgufArchitecture.For(qwen2.Args));
        using var mistral = ModelLoader.Load(Fixtures.Repo("golden/mistral"));
        Assert.Equal(new GgufArchitecture("llama", PermuteQk: true), GgufArchitecture.For(mistral.Args));
        Assert.Equal("blk.3.attn_q.bias", GgufArchitecture.TensorName("model.layers.3.self_attn.q_proj.bias"));
        Assert.Equal("blk.0.attn_k_norm.weight", GgufArchitecture.TensorName("model.layers.0.self_attn.k_norm.weight"));
        Assert.Null(GgufArchitecture.TensorName("model.layers.0.self_attn.q_proj.lora_A.weight"));

        var e = Assert.Throws<NotSupportedException>(() => GgufArchitecture.For(qwen2.Args with { ModelType = "phi3" }));
        Assert.Contains("model_type 'phi3'", e.Message);
        using var untiedBias = ModelLoader.Load(Fixtures.Repo("golden/llama_untied_bias"));
        Assert.Contains("mlp_bias = true", Assert.Throws<NotSupportedException>(() => GgufArchitecture.For(untiedBias.Args)).Message);
        Assert.Contains("attention_bias", Assert.Throws<NotSupportedException>(() => GgufArchitecture.For(untiedBias.Args with { MlpBias = false })).Message);
    }

    [Fact]
    public void RopeScaling_LinearKeys_Llama3FactorsTensor_DynamicRejected()
    {
        string modelDir = Fixtures.Get("models/stories260K-hf");
        var tok = HfTokenizer.Load(modelDir);
        using var model = ModelLoader.Load(modelDir);
        using var linear = new CausalLM(model.Args with { Rope = new RopeArgs(10000, new RopeScaling.Linear(4)) }, ScalarType.Float32);
        var r = new GgufReader(GgufModel.Write(linear, tok, Path.Combine(dir, "linear.gguf"), GgmlType.F32).Path);
        Assert.Equal("linear", r.Metadata["llama.rope.scaling.type"]);
        Assert.Equal(4f, r.Metadata["llama.rope.scaling.factor"]);

        // Llama 3.1 scaling: theta 500000, D = 128, factor 8, low 1, high 4, original 8192. Wavelength 2 pi theta^(2i/D):
        // i = 0 -> 6.3 < 8192/4 -> 1; i = 63 -> ~1.3e6 > 8192 -> 8; in between the divisor lies strictly in (1, 8).
        var f = GgufModel.Llama3RopeFactors(500000, 128, new RopeScaling.Llama3(8, 1, 4, 8192));
        Assert.Equal(64, f.Length);
        Assert.Equal(1f, f[0]);
        Assert.Equal(8f, f[63]);
        Assert.Contains(f, x => x > 1 && x < 8);
        Assert.True(f.Zip(f.Skip(1)).All(p => p.Second >= p.First), "divisors grow with the wavelength");
        using var l3 = new CausalLM(model.Args with { Rope = new RopeArgs(10000, new RopeScaling.Llama3(8, 1, 4, 64)) }, ScalarType.Float32);
        var r3 = new GgufReader(GgufModel.Write(l3, tok, Path.Combine(dir, "l3.gguf"), GgmlType.F32).Path);
        Assert.Equal(GgufModel.Llama3RopeFactors(10000, 8, new RopeScaling.Llama3(8, 1, 4, 64)), r3.ReadFloats("rope_freqs.weight"));

        using var dynamic = new CausalLM(model.Args with { Rope = new RopeArgs(10000, new RopeScaling.Dynamic(2, 512)) }, ScalarType.Float32);
        var e = Assert.Throws<NotSupportedException>(() => GgufModel.Write(dynamic, tok, Path.Combine(dir, "d.gguf"), GgmlType.F32));
        Assert.Contains("rope_scaling.rope_type 'dynamic'", e.Message);
    }
}
