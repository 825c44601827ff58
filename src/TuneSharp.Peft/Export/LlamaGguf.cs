using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Export;

/// <summary>
/// Exports a plain (merged, adapter-free) llama-family <see cref="CausalLM"/> to GGUF with llama.cpp's `llama`
/// architecture keys and tensor names. Q and K rows are permuted the way llama.cpp's HF converter does, because
/// ggml's RoPE rotates adjacent pairs (0,1),(2,3).. while HF rotates halves (i, i + D/2).
/// </summary>
public static class LlamaGguf
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>; 1-D tensors (norms) stay F32.</summary>
    public static void Write(CausalLM model, DecoderArgs args, string path, GgmlType type)
    {
        if (args.ModelType != "llama") throw new NotSupportedException($"GGUF export: model_type '{args.ModelType}' is not supported (only llama)");
        if (args.QkvBias || args.OutputBias || args.MlpBias) throw new NotSupportedException("GGUF export: llama with projection biases is not supported");
        if (args.Rope.Scaling is not RopeScaling.None) throw new NotSupportedException($"GGUF export: rope scaling {args.Rope.Scaling.GetType().Name} is not supported yet");
        var w = new GgufWriter();
        w.Add("general.architecture", "llama")
            .Add("general.file_type", FileType(type))
            .Add("llama.vocab_size", (uint)args.VocabSize)
            .Add("llama.context_length", (uint)args.MaxPositionEmbeddings)
            .Add("llama.embedding_length", (uint)args.HiddenSize)
            .Add("llama.block_count", (uint)args.NumHiddenLayers)
            .Add("llama.feed_forward_length", (uint)args.IntermediateSize)
            .Add("llama.attention.head_count", (uint)args.NumAttentionHeads)
            .Add("llama.attention.head_count_kv", (uint)args.NumKeyValueHeads)
            .Add("llama.attention.key_length", (uint)args.HeadDim)
            .Add("llama.attention.value_length", (uint)args.HeadDim)
            .Add("llama.rope.freq_base", (float)args.Rope.Theta)
            .Add("llama.rope.dimension_count", (uint)args.HeadDim)
            .Add("llama.attention.layer_norm_rms_epsilon", (float)args.RmsNormEps);

        using var scope = NewDisposeScope();
        var state = model.state_dict();
        foreach (var (hfName, tensor) in state)
        {
            if (hfName == "lm_head.weight" && args.TieWordEmbeddings) continue;
            string name = GgufName(hfName)
                ?? throw new NotSupportedException($"GGUF export: tensor '{hfName}' has no llama.cpp name (merge adapters first)");
            var t = tensor.detach().to(ScalarType.Float32).cpu();
            if (name.EndsWith("attn_q.weight")) t = PermuteRope(t, args.NumAttentionHeads);
            else if (name.EndsWith("attn_k.weight")) t = PermuteRope(t, args.NumKeyValueHeads);
            t = t.contiguous();
            var data = t.data<float>().ToArray();
            // Norms and any row that does not fill whole blocks stay F32, as llama.cpp's converter keeps them.
            var (block, _) = GgmlQuant.Layout(type);
            var tensorType = t.dim() == 1 || t.shape[^1] % block != 0 ? GgmlType.F32 : type;
            w.AddTensor(name, t.shape, tensorType, data);
        }
        w.Write(path);
    }

    /// <summary>The HF llama row order of q_proj/k_proj -> llama.cpp's: per head, rows (half, pair) become (pair, half).</summary>
    public static Tensor PermuteRope(Tensor w, int heads)
    {
        var shape = w.shape;
        // [H * D, in] -> [H, 2, D/2, in] -> [H, D/2, 2, in] -> [H * D, in]
        return w.reshape(heads, 2, shape[0] / heads / 2, -1).transpose(1, 2).reshape(shape);
    }

    /// <summary>Inverse of <see cref="PermuteRope"/>.</summary>
    public static Tensor UnpermuteRope(Tensor w, int heads)
    {
        var shape = w.shape;
        return w.reshape(heads, shape[0] / heads / 2, 2, -1).transpose(1, 2).reshape(shape);
    }

    /// <summary>llama.cpp's tensor name for an HF llama parameter name, or null.</summary>
    public static string? GgufName(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        var parts = hfName.Split('.');
        // model.layers.{i}.{module path}.weight
        if (parts.Length < 5 || parts[0] != "model" || parts[1] != "layers" || !int.TryParse(parts[2], out int layer) || parts[^1] != "weight") return null;
        string? local = string.Join('.', parts[3..^1]) switch
        {
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            "input_layernorm" => "attn_norm",
            "post_attention_layernorm" => "ffn_norm",
            _ => null,
        };
        return local is null ? null : $"blk.{layer}.{local}.weight";
    }

    // llama_ftype: the "mostly" type of the file.
    static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q8_0 => 7,
        GgmlType.BF16 => 32,
        _ => throw new NotSupportedException($"GGUF export: type {type}"),
    };
}
