using TuneSharp.Models;

namespace TuneSharp.Training.Estimates;

/// <summary>
/// Parameter counts of the shared decoder (<see cref="CausalLM"/>) from its args, split the way memory estimates need:
/// the projection matrices inside the layers (what a quantized base stores in 4 bits) and everything else.
/// </summary>
public sealed record ParameterCount(long LayerLinearWeights, long Embedding, long LmHead, long Norms, long Biases)
{
    public long Total => LayerLinearWeights + Embedding + LmHead + Norms + Biases;

    /// <summary>Weights that take part in matmuls per token: layer projections and the output head (tied or not).</summary>
    public long MatmulWeights(DecoderArgs a) => LayerLinearWeights + (long)a.VocabSize * a.HiddenSize;

    public static ParameterCount Of(DecoderArgs a)
    {
        long d = a.HiddenSize, f = a.IntermediateSize, q = (long)a.NumAttentionHeads * a.HeadDim, kv = (long)a.NumKeyValueHeads * a.HeadDim;
        long perLayerLinear = d * q + 2 * d * kv + q * d + 3 * d * f;   // q, k, v, o; gate, up, down
        long perLayerNorms = 2 * d + (a.QkNorm ? 2L * a.HeadDim : 0);   // input/post-attention norms; q/k norms
        long perLayerBias = (a.QkvBias ? q + 2 * kv : 0) + (a.OutputBias ? d : 0) + (a.MlpBias ? 2 * f + d : 0);
        long layers = a.NumHiddenLayers;
        return new ParameterCount(
            LayerLinearWeights: layers * perLayerLinear,
            Embedding: a.VocabSize * d,
            LmHead: a.TieWordEmbeddings ? 0 : a.VocabSize * d,
            Norms: layers * perLayerNorms + d,                               // + final norm
            Biases: layers * perLayerBias);
    }
}
