using TuneSharp.Models;

namespace TuneSharp.Bench;

/// <summary>Model shapes the benchmarks build with random weights.</summary>
public static class BenchModels
{
    /// <summary>
    /// SmolLM2-135M's shape: hidden 576, 30 layers, 9 heads / 3 KV (head dim 64), FFN 1536, vocab 49152, tied embeddings,
    /// RoPE theta 100000, 8192 positions. A new instance per call.
    /// </summary>
    public static DecoderArgs SmolLM2Shape => new()
    {
        ModelType = "llama", VocabSize = 49152, HiddenSize = 576, IntermediateSize = 1536, NumHiddenLayers = 30,
        NumAttentionHeads = 9, NumKeyValueHeads = 3, HeadDim = 64, MaxPositionEmbeddings = 8192, RmsNormEps = 1e-5,
        Rope = new RopeArgs(100000, new RopeScaling.None()), TieWordEmbeddings = true,
    };
}
