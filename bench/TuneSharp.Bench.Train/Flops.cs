using TuneSharp.Models;

namespace TuneSharp.Bench.Train;

/// <summary>
/// Model FLOPs of one training step (matmuls only; norms, softmax, element-wise ops and the optimizer are not counted).
/// Per token of a batch of padded length L (padded positions included):
/// forward = 2 * Nmm (Nmm = weights of every layer projection plus the output head) + 4 * L * H * D per layer
/// (QK^T and PV over the full L x L square, as explicit attention computes it); backward of attention = 2x its forward.
/// Full fine-tuning: backward of a weight matmul = 2x forward (input and weight gradients) -> 6 * Nmm.
/// LoRA: the frozen base needs only input gradients -> 4 * Nmm, plus 6 * r * (in + out) per adapted projection.
/// </summary>
public static class Flops
{
    /// <summary>Weights that take part in matmuls: per layer q, k, v, o, gate, up, down, plus the output head.</summary>
    public static double MatmulParameters(DecoderArgs a)
    {
        double d = a.HiddenSize, q = (double)a.NumAttentionHeads * a.HeadDim, kv = (double)a.NumKeyValueHeads * a.HeadDim;
        double perLayer = d * q + 2 * d * kv + q * d + 3 * d * a.IntermediateSize;
        return a.NumHiddenLayers * perLayer + (double)a.VocabSize * d;
    }

    /// <summary>Adapter weights of LoRA rank r on all seven projections of every layer: r * (in + out) each.</summary>
    public static double LoraParameters(DecoderArgs a, int r)
    {
        double d = a.HiddenSize, q = (double)a.NumAttentionHeads * a.HeadDim, kv = (double)a.NumKeyValueHeads * a.HeadDim;
        double f = a.IntermediateSize;
        double perLayer = r * ((d + q) + 2 * (d + kv) + (q + d) + 2 * (d + f) + (f + d));
        return a.NumHiddenLayers * perLayer;
    }

    /// <summary>FLOPs of forward + backward for one micro-batch of <paramref name="rows"/> x <paramref name="length"/> positions.</summary>
    public static double Batch(DecoderArgs a, bool lora, int loraRank, int rows, int length)
    {
        double tokens = (double)rows * length;
        double weights = (lora ? 4 : 6) * MatmulParameters(a) + (lora ? 6 * LoraParameters(a, loraRank) : 0);
        double attention = 3 * 4.0 * length * a.NumAttentionHeads * a.HeadDim * a.NumHiddenLayers; // fwd + 2x bwd
        return tokens * (weights + attention);
    }
}
