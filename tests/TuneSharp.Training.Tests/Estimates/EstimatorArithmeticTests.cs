using TuneSharp.Models;
using TuneSharp.Training.Estimates;
using Xunit;

namespace TuneSharp.Training.Tests.Estimates;

/// <summary>
/// The estimate breakdown for one small config, against numbers worked out by hand in the comments.
/// Config: hidden d = 64, intermediate F = 128, 2 layers, H = 4 heads, Hkv = 2, head dim D = 16 (q = H*D = 64,
/// kv = Hkv*D = 32), vocab V = 256, untied; micro batch B = 2, T = 32 (64 tokens).
/// </summary>
public sealed class EstimatorArithmeticTests
{
    internal static DecoderArgs Args(int hidden = 64, int intermediate = 128, int layers = 2, int heads = 4, int kvHeads = 2,
        int headDim = 16, int vocab = 256, bool tied = false) => new()
    {
        ModelType = "llama",
        VocabSize = vocab,
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        HeadDim = headDim,
        MaxPositionEmbeddings = 512,
        RmsNormEps = 1e-5,
        Rope = new RopeArgs(10000, new RopeScaling.None()),
        TieWordEmbeddings = tied,
    };

    // Per layer: q 64*64 = 4096, k 64*32 = 2048, v 2048, o 4096, gate/up/down 64*128 = 8192 each -> 36,864.
    // Two layers: 73,728. Embedding and lm_head 256*64 = 16,384 each. Norms 2 layers * 2 * 64 + final 64 = 320.
    const long LayerLinear = 73_728, Total = 106_816;

    [Fact]
    public void ParameterCount_ByHand()
    {
        var p = ParameterCount.Of(Args());
        Assert.Equal(LayerLinear, p.LayerLinearWeights);
        Assert.Equal(16_384, p.Embedding);
        Assert.Equal(16_384, p.LmHead);
        Assert.Equal(320, p.Norms);
        Assert.Equal(0, p.Biases);
        Assert.Equal(Total, p.Total);
    }

    [Fact]
    public void FullFineTune_Fp32_Breakdown()
    {
        var m = MemoryEstimator.Estimate(new MemoryEstimateInput
        {
            Model = Args(), DTypeBytes = 4, TrainableParameters = Total, AdapterTraining = false,
            MicroBatch = 2, SeqLen = 32, RuntimeBytes = 100_000_000,
        });
        Assert.Equal(427_264, m.Weights);   // 106,816 * 4
        Assert.Equal(427_264, m.Gradients); // one fp32 gradient per parameter
        Assert.Equal(854_528, m.Optimizer); // AdamW: 2 fp32 states, no master copy for fp32 -> 8 bytes each
        // Saved per token and layer (fp32, e = 4):
        //   norms 2 * (4*64 fp32 input + 2*4*64 normed and output + 4 rsqrt) = 1544
        //   attention (fp32: fused kernel) 4 * (7*64 + 4*32) + 4 * 4 heads = 2320 (q, k, v, rotate-half, rotated,
        //     o reshaped, K/V repeated to 4 heads, kernel output; log-sum-exp per head)
        //   mlp 4 * 4 * 128 = 2048                      -> 5912 bytes/token, * 64 tokens = 378,368
        // Scores: none kept by the fused kernel.
        // Layer saved 378,368; outside the layers (final norm) 64 * 12 * 64 = 49,152;
        // transient = one layer of gradients 378,368.
        // Total: 2 * 378,368 + 49,152 + 378,368 = 1,184,256.
        Assert.Equal(1_184_256, m.Activations);
        // Loss: one chunk of 64 rows * 256 * 4 = 65,536; hidden rows, gradient, scaled gradient 3 * 64 * 64 * 4 = 49,152.
        Assert.Equal(114_688, m.Logits);
        Assert.Equal(100_000_000, m.Runtime);
        Assert.Equal(427_264 * 2 + 854_528 + 1_184_256 + 114_688 + 100_000_000, m.Total);
        Assert.Equal(427_264 + 1_184_256 + 114_688, m.StepBytes);
        Assert.Contains("activations 1.13 MiB", m.Breakdown());
    }

    [Fact]
    public void GradientCheckpointing_KeepsLayerInputsAndOneLayer()
    {
        var act = MemoryEstimator.Activations(Args(), e: 4, batch: 2, seqLen: 32, checkpointing: true);
        // 2 layers * 64 tokens * 64 * 4 = 32,768 inputs + one recomputed layer 378,368 + 49,152 + 378,368.
        Assert.Equal(838_656, act.Total);
    }

    [Fact]
    public void QLoraBf16_Breakdown()
    {
        var m = MemoryEstimator.Estimate(new MemoryEstimateInput
        {
            Model = Args(), DTypeBytes = 2, TrainableParameters = 4_096, AdapterTraining = true, QuantizedBase = true,
            MicroBatch = 2, SeqLen = 32, RuntimeBytes = 0,
        });
        // NF4 projections: 73,728 * (0.5 + 1/64 code + 4/(64*256) second-level absmax) = 36,864 + 1,152 + 18 = 38,034;
        // the other 33,088 parameters in bf16 = 66,176; adapters 4,096 * 2 = 8,192.
        Assert.Equal(112_402, m.Weights);
        Assert.Equal(8_192, m.Gradients);
        Assert.Equal(49_152, m.Optimizer); // 4,096 * (8 for the two states + 4 for the fp32 master of bf16 params)
        // bf16 (e = 2) per token and layer: norms 2 * (256 + 256 + 4) = 1032, attention 2 * 448 = 896, mlp 1024
        // -> 2952 * 64 = 188,928. Scores saved 2 * 2 bytes * 8192 = 32,768; transient 6 * 8192 = 49,152.
        // Layer 221,696; outside 64 * (4 + 4) * 64 = 32,768; transient 49,152 + 188,928 = 238,080.
        Assert.Equal(2 * 221_696 + 32_768 + 238_080, m.Activations);
        // Chunk 64 * 256 * (4 + 2*2) = 131,072; rows 3 * 64 * 64 * 2 = 24,576; frozen head: no fp32 accumulator.
        Assert.Equal(155_648, m.Logits);
    }

    [Fact]
    public void TrainingFlops_FullAndLora()
    {
        var a = Args();
        // Forward per token: 2 * (73,728 + 16,384 head) = 180,224 + attention 4 * 2 layers * 4 heads * 16 * 32 = 16,384.
        Assert.Equal(196_608, TimeEstimator.ForwardFlopsPerToken(a, 0, 32));
        // Full: forward + (forward + 2 * 106,816 weight gradients) = 606,848 per token.
        Assert.Equal(606_848, TimeEstimator.TrainingFlopsPerToken(a, Total, adapterTraining: false, 32, checkpointing: false));
        // LoRA with 4,096 adapter weights: forward 196,608 + 8,192 = 204,800; backward 204,800 + 8,192; + recompute.
        Assert.Equal(204_800 * 3 + 8_192, TimeEstimator.TrainingFlopsPerToken(a, 4_096, adapterTraining: true, 32, checkpointing: true));
    }

    [Fact]
    public void TimeEstimate_IsStartupPlusMeasuredCostsTimesTheWorkLeft()
    {
        // Training: 1e5 tokens at 2e-5 s + 50 micro-batches at 0.01 s = 2.5 s; 3 evaluations of (1,000 tokens at 1e-5 s
        // + 4 batches at 0.005 s) = 0.09 s; 96 decode steps at 0.01 s.
        var w = new RunWorkload(TrainPaddedTokens: 1e5, TrainMicroBatches: 50, EvalPasses: 3, EvalPaddedTokens: 1_000, EvalBatches: 4, DecodeSteps: 96);
        var t = TimeEstimator.Estimate(w, new ProbeResult(2e-5, 0.01, 1e-5, 0.005, 0.01, null), startupSeconds: 1.5, flopsPerToken: 1e6);
        Assert.Equal(2.5, t.TrainSeconds, 9);
        Assert.Equal(0.09, t.EvalSeconds, 9);
        Assert.Equal(0.96, t.SampleSeconds, 9);
        Assert.Equal(1.5 + 2.5 + 0.09 + 0.96, t.Seconds, 9);
        Assert.Equal(1e6 * 1e5 / 2.5, t.AchievedFlopsPerSecond(w), 3); // 40 GFLOP/s
    }
}
