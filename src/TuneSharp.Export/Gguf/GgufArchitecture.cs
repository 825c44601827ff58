using TuneSharp.Models;

namespace TuneSharp.Export.Gguf;

/// <summary>
/// How a TuneSharp decoder maps onto a llama.cpp architecture: its name (the prefix of the hyper-parameter keys) and
/// whether Q/K rows are permuted (llama.cpp's `llama` graph uses ggml's "normal" RoPE on adjacent pairs, while HF llama
/// rotates halves; qwen2/qwen3 use ggml's NEOX RoPE, which rotates halves, so their rows stay as they are).
/// </summary>
public sealed record GgufArchitecture(string Name, bool PermuteQk)
{
    /// <summary>The architecture for a config, or a <see cref="NotSupportedException"/> naming the config.json key.</summary>
    public static GgufArchitecture For(DecoderArgs a)
    {
        var arch = a.ModelType switch
        {
            "llama" or "mistral" => new GgufArchitecture("llama", PermuteQk: true),
            "qwen2" => new GgufArchitecture("qwen2", PermuteQk: false),
            "qwen3" => new GgufArchitecture("qwen3", PermuteQk: false),
            _ => throw new NotSupportedException($"GGUF export: config.json model_type '{a.ModelType}' is not supported (supported: llama, mistral, qwen2, qwen3)"),
        };
        // Biases llama.cpp's graphs do not read (or that would need the RoPE permutation) fail instead of being dropped.
        if (a.MlpBias) throw new NotSupportedException("GGUF export: config.json mlp_bias = true is not supported");
        if (a.OutputBias) throw new NotSupportedException("GGUF export: config.json attention_bias = true (o_proj bias) is not supported");
        if (a.QkvBias && arch.PermuteQk) throw new NotSupportedException("GGUF export: config.json attention_bias = true is not supported for llama/mistral");
        return arch;
    }

    /// <summary>llama.cpp's tensor name for an HF parameter name, or null when llama.cpp has none.</summary>
    public static string? TensorName(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        var parts = hfName.Split('.');
        // model.layers.{i}.{module path}.{weight|bias}
        if (parts.Length < 5 || parts[0] != "model" || parts[1] != "layers" || !int.TryParse(parts[2], out int layer)
            || parts[^1] is not ("weight" or "bias")) return null;
        string? local = string.Join('.', parts[3..^1]) switch
        {
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "self_attn.q_norm" => "attn_q_norm",
            "self_attn.k_norm" => "attn_k_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            "input_layernorm" => "attn_norm",
            "post_attention_layernorm" => "ffn_norm",
            _ => null,
        };
        return local is null ? null : $"blk.{layer}.{local}.{parts[^1]}";
    }
}
