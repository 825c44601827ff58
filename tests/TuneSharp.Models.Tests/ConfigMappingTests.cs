using TuneSharp.Models;
using TuneSharp.Models.Families;
using Xunit;

namespace TuneSharp.Models.Tests;

public class ConfigMappingTests
{
    const string Base = """
        "vocab_size": 256, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-5
        """;

    static DecoderArgs Map(string extra) => ModelFamilies.Map(ConfigReader.FromJson("{" + Base + "," + extra + "}"));

    [Fact]
    public void Llama_DefaultsAndDerivedValues()
    {
        var a = Map("""
            "model_type": "llama", "tie_word_embeddings": true, "rope_theta": 500000.0, "eos_token_id": [2, 7],
            "transformers_version": "4.45.0", "some_new_flag": 3
            """);
        Assert.Equal(16, a.HeadDim);
        Assert.Equal(2, a.KvGroups);
        Assert.Equal(500000.0, a.Rope.Theta);
        Assert.IsType<RopeScaling.None>(a.Rope.Scaling);
        Assert.True(a.TieWordEmbeddings);
        Assert.Equal([2, 7], a.EosTokenIds);
        Assert.Equal(["some_new_flag"], a.IgnoredKeys); // unknown keys are reported, metadata keys are not
    }

    [Fact]
    public void Qwen2_ImpliesQkvBias_Qwen3_HasQkNorm()
    {
        Assert.True(Map("\"model_type\": \"qwen2\"").QkvBias);
        var q3 = Map("\"model_type\": \"qwen3\", \"head_dim\": 32");
        Assert.True(q3.QkNorm);
        Assert.False(q3.QkvBias);
        Assert.Equal(32, q3.HeadDim);
    }

    [Fact]
    public void RopeScaling_Variants_MapToTypedRecords()
    {
        Assert.Equal(new RopeScaling.Linear(2.0), Map("\"model_type\": \"llama\", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}").Rope.Scaling);
        Assert.Equal(new RopeScaling.Dynamic(2.0, 128), Map("\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}").Rope.Scaling);
        Assert.Equal(new RopeScaling.Llama3(8, 1, 4, 8192), Map("""
            "model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
            """).Rope.Scaling);
    }

    [Theory]
    [InlineData("\"model_type\": \"gpt_neox\"", "model_type")]
    [InlineData("\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling.rope_type")]
    [InlineData("\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2.0, \"beta\": 1}", "rope_scaling.beta")]
    [InlineData("\"model_type\": \"llama\", \"hidden_act\": \"gelu\"", "hidden_act")]
    [InlineData("\"model_type\": \"qwen2\", \"use_sliding_window\": true", "use_sliding_window")]
    [InlineData("\"model_type\": \"llama\", \"partial_rotary_factor\": 0.5", "partial_rotary_factor")]
    public void Unsupported_FailsNamingTheKey(string extra, string key)
    {
        var ex = Assert.Throws<NotSupportedException>(() => Map(extra));
        Assert.Contains($"'{key}'", ex.Message);
    }

    [Fact]
    public void WrongType_IsInvalidData_NamingTheKey()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ModelFamilies.Map(ConfigReader.FromJson(
            "{\"model_type\": \"llama\", \"hidden_size\": \"big\"}")));
        Assert.Contains("'hidden_size'", ex.Message);
    }
}
