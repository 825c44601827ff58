using TuneSharp.Models;

namespace TuneSharp.Models.Tests;

/// <summary>Tiny random configurations (2 layers, hidden 64, vocab 256) for fast CPU tests.</summary>
public static class TinyModels
{
    public static DecoderArgs Llama(bool tied = true) => new()
    {
        ModelType = "llama",
        VocabSize = 256,
        HiddenSize = 64,
        IntermediateSize = 96,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 16,
        MaxPositionEmbeddings = 128,
        RmsNormEps = 1e-6,
        Rope = new RopeArgs(10000, new RopeScaling.None()),
        TieWordEmbeddings = tied,
    };

    public static CausalLM Create(DecoderArgs args, long seed = 1)
    {
        var model = new CausalLM(args);
        ModelInit.Normal(model, seed);
        return model;
    }
}
