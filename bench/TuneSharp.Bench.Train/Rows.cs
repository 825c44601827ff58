using System.Text.Json.Nodes;

namespace TuneSharp.Bench.Train;

/// <summary>A model architecture under test: its HF config.json (random weights) and the real tokenizer it uses.</summary>
public sealed record ModelShape(string Id, string Title, string Tokenizer, JsonObject Config)
{
    /// <summary>SmolLM2-135M's config.json values; the llama2 tokenizer (32000 ids) fits its 49152-entry vocabulary.</summary>
    public static ModelShape SmolLM2 => new("smol", "SmolLM2-135M shape", "llama2", new JsonObject
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["hidden_size"] = 576,
        ["num_hidden_layers"] = 30, ["num_attention_heads"] = 9, ["num_key_value_heads"] = 3, ["head_dim"] = 64,
        ["intermediate_size"] = 1536, ["vocab_size"] = 49152, ["tie_word_embeddings"] = true, ["rope_theta"] = 100000.0,
        ["max_position_embeddings"] = 8192, ["rms_norm_eps"] = 1e-5, ["hidden_act"] = "silu", ["torch_dtype"] = "float32",
    });

    /// <summary>Qwen2.5-0.5B's config.json values (q/k/v bias, tied); the qwen3 tokenizer (151669 ids) fits 151936.</summary>
    public static ModelShape Qwen25 => new("qwen", "Qwen2.5-0.5B shape", "qwen3", new JsonObject
    {
        ["architectures"] = new JsonArray("Qwen2ForCausalLM"), ["model_type"] = "qwen2", ["hidden_size"] = 896,
        ["num_hidden_layers"] = 24, ["num_attention_heads"] = 14, ["num_key_value_heads"] = 2,
        ["intermediate_size"] = 4864, ["vocab_size"] = 151936, ["tie_word_embeddings"] = true, ["rope_theta"] = 1000000.0,
        ["max_position_embeddings"] = 32768, ["rms_norm_eps"] = 1e-6, ["hidden_act"] = "silu", ["torch_dtype"] = "float32",
        ["use_sliding_window"] = false, ["sliding_window"] = 32768, ["max_window_layers"] = 21,
    });
}

/// <summary>
/// One benchmark row. <see cref="Packed"/>: TuneSharp trains with data.packing (windows of <see cref="SeqLen"/>) while
/// the PyTorch side keeps the padded batches of the same row; they are compared on useful (non-pad) tokens/s.
/// </summary>
public sealed record BenchRow(ModelShape Shape, bool Lora, bool Bf16, int SeqLen, int MicroBatch, bool Packed)
{
    public const int LoraRank = 16;
    public const double LoraAlpha = 32;

    public string Id => $"{Shape.Id}-{(Lora ? "lora" : "full")}-{(Bf16 ? "bf16" : "fp32")}-{SeqLen}{(Packed ? "-packed" : "")}";
    public string Method => Lora ? "LoRA r16 all-linear" : "full";
    public string DType => Bf16 ? "bf16" : "fp32";
    /// <summary>HF defaults for the method: 2e-4 for LoRA, 2e-5 for full fine-tuning.</summary>
    public double LearningRate => Lora ? 2e-4 : 2e-5;

    /// <summary>Micro batch that fits 23 GB on both sides: 4 sequences at T=512, 1 at T=2048.</summary>
    public static int MicroBatchFor(int seqLen) => seqLen <= 512 ? 4 : 1;

    /// <summary>Every combination (shape x method x dtype x T, plus a packed row per shape, method and dtype at T=512).</summary>
    public static IReadOnlyList<BenchRow> Full()
    {
        var rows = new List<BenchRow>();
        foreach (var shape in new[] { ModelShape.SmolLM2, ModelShape.Qwen25 })
            foreach (int t in new[] { 512, 2048 })
                foreach (bool lora in new[] { true, false })
                    foreach (bool bf16 in new[] { false, true })
                        rows.Add(new BenchRow(shape, lora, bf16, t, MicroBatchFor(t), false));
        foreach (var shape in new[] { ModelShape.SmolLM2, ModelShape.Qwen25 })
            foreach (bool lora in new[] { true, false })
                foreach (bool bf16 in new[] { false, true })
                    rows.Add(new BenchRow(shape, lora, bf16, 512, MicroBatchFor(512), true));
        return rows;
    }

    /// <summary>The default, reduced matrix (~25 minutes here): SmolLM2 shape, T=512, LoRA and full, fp32 and bf16, one packed row.</summary>
    public static IReadOnlyList<BenchRow> Default() =>
    [
        .. Full().Where(r => r.Shape.Id == "smol" && r.SeqLen == 512 && !r.Packed),
        new BenchRow(ModelShape.SmolLM2, true, true, 512, MicroBatchFor(512), true),
    ];

    /// <summary>Rows by id from the full matrix (comma-separated); unknown ids are errors listing the valid ones.</summary>
    public static IReadOnlyList<BenchRow> Select(string ids)
    {
        var all = Full();
        return [.. ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(id =>
            all.FirstOrDefault(r => r.Id == id) ?? throw new ArgumentException(
                $"--rows: unknown row '{id}'; valid rows: {string.Join(", ", all.Select(r => r.Id))}"))];
    }
}
