using TuneSharp.Models;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Export.Gguf;

/// <summary>What a GGUF export wrote: the file, its architecture, and tensors kept at F32 because their rows do not fill whole blocks.</summary>
public sealed record GgufExportResult(string Path, string Architecture, IReadOnlyList<string> KeptF32, IReadOnlyList<string> Warnings);

/// <summary>
/// Writes a plain (merged, adapter-free) <see cref="CausalLM"/> plus its tokenizer as a GGUF v3 file that llama.cpp
/// loads: `general.*` and `{arch}.*` hyper-parameter keys, the `tokenizer.ggml.*` vocabulary (<see cref="GgufTokenizer"/>),
/// and tensors under llama.cpp's names, Q/K rows permuted for the llama architecture.
/// </summary>
public static class GgufModel
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>; 1-D tensors (norms, biases) stay F32.</summary>
    public static GgufExportResult Write(CausalLM model, HfTokenizer tokenizer, string path, GgmlType type, string? name = null)
    {
        var a = model.Args;
        var arch = GgufArchitecture.For(a);
        var warnings = new List<string>();
        string p = arch.Name;
        var w = new GgufWriter();
        w.Add("general.architecture", p)
            .Add("general.name", name ?? Path.GetFileNameWithoutExtension(path))
            .Add("general.file_type", FileType(type))
            .Add("general.quantization_version", 2u)
            .Add($"{p}.vocab_size", (uint)a.VocabSize)
            .Add($"{p}.context_length", (uint)a.MaxPositionEmbeddings)
            .Add($"{p}.embedding_length", (uint)a.HiddenSize)
            .Add($"{p}.block_count", (uint)a.NumHiddenLayers)
            .Add($"{p}.feed_forward_length", (uint)a.IntermediateSize)
            .Add($"{p}.attention.head_count", (uint)a.NumAttentionHeads)
            .Add($"{p}.attention.head_count_kv", (uint)a.NumKeyValueHeads)
            .Add($"{p}.attention.key_length", (uint)a.HeadDim)
            .Add($"{p}.attention.value_length", (uint)a.HeadDim)
            .Add($"{p}.rope.freq_base", (float)a.Rope.Theta)
            .Add($"{p}.rope.dimension_count", (uint)a.HeadDim)
            .Add($"{p}.attention.layer_norm_rms_epsilon", (float)a.RmsNormEps);
        float[]? ropeFactors = RopeScalingKeys(w, p, a);
        if (a.SlidingWindow is int window)
            warnings.Add($"config.json sliding_window = {window} is not representable for llama.cpp's '{p}' architecture: contexts longer than {window} attend further back than the source model");
        GgufTokenizer.Add(w, tokenizer, a.VocabSize, warnings);

        var keptF32 = new List<string>();
        using var scope = NewDisposeScope();
        foreach (var (hfName, tensor) in model.state_dict())
        {
            if (hfName == "lm_head.weight" && a.TieWordEmbeddings) continue;
            string tname = GgufArchitecture.TensorName(hfName)
                ?? throw new NotSupportedException($"GGUF export: tensor '{hfName}' has no llama.cpp name (merge adapters first)");
            var t = tensor.detach().to(ScalarType.Float32).cpu();
            if (arch.PermuteQk && tname.EndsWith("attn_q.weight", StringComparison.Ordinal)) t = PermuteRope(t, a.NumAttentionHeads);
            else if (arch.PermuteQk && tname.EndsWith("attn_k.weight", StringComparison.Ordinal)) t = PermuteRope(t, a.NumKeyValueHeads);
            t = t.contiguous();
            // Norms, biases and rows that do not fill whole quantization blocks stay F32 (exact).
            var (block, _) = GgmlQuant.Layout(type);
            var tensorType = t.dim() == 1 ? GgmlType.F32 : type;
            if (t.dim() > 1 && t.shape[^1] % block != 0)
            {
                tensorType = GgmlType.F32;
                keptF32.Add(tname);
            }
            w.AddTensor(tname, t.shape, tensorType, t.data<float>().ToArray());
        }
        if (ropeFactors != null) w.AddTensor("rope_freqs.weight", [ropeFactors.Length], GgmlType.F32, ropeFactors);
        w.Write(path);
        return new GgufExportResult(path, p, keptF32, warnings);
    }

    /// <summary>
    /// Writes the rope scaling keys; returns llama3-type per-frequency divisors for the `rope_freqs.weight` tensor
    /// (llama.cpp divides each RoPE frequency by them), or null.
    /// </summary>
    static float[]? RopeScalingKeys(GgufWriter w, string p, DecoderArgs a)
    {
        switch (a.Rope.Scaling)
        {
            case RopeScaling.None:
                return null;
            case RopeScaling.Linear lin:
                w.Add($"{p}.rope.scaling.type", "linear").Add($"{p}.rope.scaling.factor", (float)lin.Factor);
                return null;
            case RopeScaling.Llama3 l3:
                return Llama3RopeFactors(a.Rope.Theta, a.HeadDim, l3);
            case RopeScaling.Dynamic:
                throw new NotSupportedException("GGUF export: config.json rope_scaling.rope_type 'dynamic' has no llama.cpp equivalent");
            default:
                throw new NotSupportedException($"GGUF export: config.json rope_scaling {a.Rope.Scaling.GetType().Name} is not supported");
        }
    }

    /// <summary>Llama 3.1 RoPE: per frequency, 1 (high), factor (low) or the smooth blend's divisor in between.</summary>
    public static float[] Llama3RopeFactors(double theta, int headDim, RopeScaling.Llama3 s)
    {
        double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor, highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
        var factors = new float[headDim / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            double freq = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) factors[i] = 1f;
            else if (wavelen > lowWavelen) factors[i] = (float)s.Factor;
            else
            {
                // The scaled frequency is freq * ((1 - smooth) / factor + smooth); its divisor is the reciprocal.
                double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                factors[i] = (float)(1.0 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return factors;
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

    /// <summary>The ggml type for a `--type` name (f32, f16, bf16, q8_0, q4_0; case-insensitive).</summary>
    public static GgmlType ParseType(string name) => name.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32,
        "f16" => GgmlType.F16,
        "bf16" => GgmlType.BF16,
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        _ => throw new ArgumentException($"GGUF type '{name}' is not supported (f32, f16, bf16, q8_0, q4_0)"),
    };

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
