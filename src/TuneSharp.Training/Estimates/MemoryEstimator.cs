using TuneSharp.Models;
using TuneSharp.Training.Config;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Observers;

namespace TuneSharp.Training.Estimates;

/// <summary>What a training run looks like, for <see cref="MemoryEstimator.Estimate"/>.</summary>
public sealed record MemoryEstimateInput
{
    public required DecoderArgs Model { get; init; }
    /// <summary>Bytes per element of weights and activations: 4 (fp32) or 2 (bf16).</summary>
    public required int DTypeBytes { get; init; }
    public required long TrainableParameters { get; init; }
    /// <summary>True when the trainable parameters are adapters added to a frozen base (LoRA, DoRA, QLoRA); false
    /// when they are (a subset of) the base weights (full, freeze).</summary>
    public required bool AdapterTraining { get; init; }
    public required int MicroBatch { get; init; }
    public required int SeqLen { get; init; }
    public bool GradientCheckpointing { get; init; }
    /// <summary>The optimizer, whose state size <see cref="MemoryEstimator.OptimizerStateBytes"/> gives.</summary>
    public OptimizerName Optimizer { get; init; } = OptimizerName.AdamW;
    /// <summary>sgd: momentum on (one fp32 buffer per parameter) or off (no state).</summary>
    public bool SgdMomentum { get; init; }
    /// <summary>Shapes of the trainable tensors (adafactor keeps rows + columns per matrix; 8-bit scales are per tensor
    /// block); null = one flat tensor of <see cref="TrainableParameters"/> values.</summary>
    public IReadOnlyList<long[]>? TrainableShapes { get; init; }
    /// <summary>An fp32 master copy of each non-fp32 trainable parameter (bf16 weights).</summary>
    public bool MasterWeights { get; init; } = true;
    /// <summary>Bytes per trainable parameter (and its gradient); null = <see cref="DTypeBytes"/>.</summary>
    public int? TrainableDTypeBytes { get; init; }
    /// <summary>Base projections stored in 4 bits (NF4) with per-block scales.</summary>
    public bool QuantizedBase { get; init; }
    public int QuantBlockSize { get; init; } = 64;
    public bool QuantDoubleQuant { get; init; } = true;
    /// <summary>Whether the output head (or the tied embedding) receives a gradient.</summary>
    public bool? LmHeadTrainable { get; init; }
    /// <summary>Rows per loss chunk; null = what the trainer uses (<see cref="CausalLmLoss.ChunkRowsFor"/>).</summary>
    public int? LossChunkRows { get; init; }
    /// <summary>Resident memory of the process before the model is loaded (runtime, libtorch); null = a default.</summary>
    public long? RuntimeBytes { get; init; }
    /// <summary>A frozen copy of the starting weights is held as the reference policy (DPO/KTO full and freeze runs).</summary>
    public bool ReferenceCopy { get; init; }
}

/// <summary>Peak memory of a training run, by component (bytes). <see cref="Total"/> is the estimated peak RSS.</summary>
/// <param name="Reference">A frozen reference copy of the weights (0 when the run holds none).</param>
public sealed record MemoryEstimate(
    double Weights, double Gradients, double Optimizer, double Activations, double Logits, double Runtime, double Reference = 0)
{
    public double Total => Weights + Gradients + Optimizer + Activations + Logits + Runtime + Reference;

    /// <summary>What one forward + backward allocates on top of the weights and optimizer state.</summary>
    public double StepBytes => Gradients + Activations + Logits;

    /// <summary>The components, e.g. <c>weights 869 KiB | grads 361 KiB | ...</c>.</summary>
    public string Breakdown() =>
        $"weights {Fmt.Bytes(Weights)} | " + (Reference > 0 ? $"reference copy {Fmt.Bytes(Reference)} | " : "") + $"grads {Fmt.Bytes(Gradients)} | optimizer {Fmt.Bytes(Optimizer)} | "
        + $"activations {Fmt.Bytes(Activations)} | loss {Fmt.Bytes(Logits)} | runtime {Fmt.Bytes(Runtime)}";
}


/// <summary>
/// Estimates the peak memory of a training step from the model shape, derived from what the decoder and loss in
/// this repository keep alive for backward (see docs/observability.md for the derivation):
/// per layer and token, RMSNorm keeps its fp32 input and its normed output (x2 norms), attention keeps q, k, v,
/// their rotate-half copies and rotated results, the scaled q and the reshaped output, the MLP keeps gate, silu, up
/// and their product; the explicit attention keeps the softmax output [B, H, T, S] in the model dtype, and while a
/// layer runs its raw and masked scores are alive too.
/// </summary>
public static class MemoryEstimator
{
    /// <summary>VmRSS of a .NET process that has initialized TorchSharp (libtorch CPU) on the development machine.</summary>
    public const long DefaultRuntimeBytes = 400L * 1024 * 1024;

    public static MemoryEstimate Estimate(MemoryEstimateInput x)
    {
        var a = x.Model;
        var p = ParameterCount.Of(a);
        int e = x.DTypeBytes, te = x.TrainableDTypeBytes ?? x.DTypeBytes;
        long trainable = x.TrainableParameters;

        // Weights: 4-bit base projections take 0.5 byte plus their scales; everything else the run dtype.
        double baseBytes = x.QuantizedBase
            ? p.LayerLinearWeights * (0.5 + ScaleBytesPerWeight(x.QuantBlockSize, x.QuantDoubleQuant)) + (p.Total - p.LayerLinearWeights) * (double)e
            : p.Total * (double)e;
        double weights = baseBytes + (x.AdapterTraining ? trainable * (double)te : 0);

        double grads = trainable * (double)te;
        double optimizer = OptimizerStateBytes(x) + (x.MasterWeights && te != 4 ? 4.0 * trainable : 0);

        var act = Activations(a, e, x.MicroBatch, x.SeqLen, x.GradientCheckpointing);
        bool lmTrainable = x.LmHeadTrainable ?? !x.AdapterTraining;
        double logits = LossBytes(a, e, x.MicroBatch, x.SeqLen, x.LossChunkRows ?? CausalLmLoss.ChunkRowsFor(a.VocabSize), lmTrainable);
        return new MemoryEstimate(weights, grads, optimizer, act.Total, logits, x.RuntimeBytes ?? DefaultRuntimeBytes,
            x.ReferenceCopy ? baseBytes : 0);
    }

    /// <summary>
    /// Optimizer state bytes (master copies excluded): adamw/adam two fp32 moments (8 per parameter); adamw_8bit two
    /// uint8 codes per parameter plus an fp32 absmax per 256-value block of each moment; sgd one fp32 buffer with
    /// momentum, nothing without; adafactor, per tensor of 2+ dimensions [..., R, C], fp32 row and column statistics
    /// (numel/C + numel/R values), and a full fp32 statistic for 0-1 dimensions.
    /// </summary>
    public static double OptimizerStateBytes(MemoryEstimateInput x)
    {
        var shapes = x.TrainableShapes ?? [[x.TrainableParameters]];
        static long Numel(long[] s) => s.Aggregate(1L, (a, d) => a * d);
        return x.Optimizer switch
        {
            OptimizerName.AdamW or OptimizerName.Adam => 8.0 * x.TrainableParameters,
            OptimizerName.AdamW8bit => shapes.Sum(s => 2.0 * Numel(s) + 2 * 4.0 * Math.Ceiling(Numel(s) / 256.0)),
            OptimizerName.Sgd => x.SgdMomentum ? 4.0 * x.TrainableParameters : 0,
            OptimizerName.Adafactor => shapes.Sum(s => s.Length >= 2 ? 4.0 * (Numel(s) / s[^1] + Numel(s) / s[^2]) : 4.0 * Numel(s)),
            _ => throw new NotSupportedException($"optimizer {x.Optimizer}"),
        };
    }

    /// <summary>NF4 scale storage per weight: fp32 absmax per block, or with double quantization one uint8 code per
    /// block plus an fp32 absmax per 256 blocks.</summary>
    public static double ScaleBytesPerWeight(int blockSize, bool doubleQuant) =>
        doubleQuant ? 1.0 / blockSize + 4.0 / (blockSize * 256.0) : 4.0 / blockSize;

    /// <summary>Activation memory: saved per layer, the rest of the model, and the largest transient.</summary>
    public sealed record ActivationBytes(double PerLayerSaved, double OutsideLayers, double Transient, double Total);

    /// <summary>True when training at activation dtype <paramref name="e"/> (bytes) uses libtorch's fused attention
    /// (<see cref="CausalLM.FusedAttentionFor"/>; the trainer never passes a cache or key padding).</summary>
    public static bool FusedAttention(int e) =>
        CausalLM.FusedAttentionFor(e == 4 ? TorchSharp.torch.ScalarType.Float32 : TorchSharp.torch.ScalarType.BFloat16);

    /// <summary>Bytes saved for backward per token and layer (excluding attention scores), for activation dtype <paramref name="e"/>.</summary>
    public static double SavedBytesPerToken(DecoderArgs a, int e)
    {
        double d = a.HiddenSize, f = a.IntermediateSize, q = (double)a.NumAttentionHeads * a.HeadDim, kv = (double)a.NumKeyValueHeads * a.HeadDim;
        double norms = 2 * (4 * d + 2 * e * d + 4);       // per norm: fp32 input, normed, output; rsqrt [1] fp32
        double attention = FusedAttention(e)
            // q,k,v; rotate-half of q,k; rotated q,k; o reshaped; K/V repeated to H heads; the kernel's output and
            // fp32 log-sum-exp per head
            ? e * (4 * q + 4 * kv + 3 * q) + 4.0 * a.NumAttentionHeads
            : e * (5 * q + 4 * kv);                       // ... and the scaled q (explicit kernel)
        double mlp = 4 * e * f;                           // gate, silu(gate), up, silu*up
        return norms + attention + mlp;
    }

    /// <summary>
    /// Bytes per attention-score element [B, H, T, S]: retained for backward and transient while a layer runs (forward:
    /// raw and masked scores; backward: the gradients of probs, masked and raw scores). The explicit kernel's graph
    /// holds the softmax output; measured on the SmolLM2-135M shape in bf16 (B = 4, T = 512, 8 layers, fresh process)
    /// a layer retains 48-51 KB per token where the tensors listed here add up to 38 KB, and the gap is one more
    /// score-sized buffer per element (9.2 KB per token), so two are counted. The fused kernel keeps no scores (it
    /// works on blocks that fit the cache); there the listed tensors match the measurement within 10%.
    /// </summary>
    public static (int Saved, int Transient) ScoreBytesPerElement(int e) => FusedAttention(e) ? (0, 0) : (2 * e, 3 * e);

    public static ActivationBytes Activations(DecoderArgs a, int e, int batch, int seqLen, bool checkpointing)
    {
        double tokens = (double)batch * seqLen;
        double scores = (double)batch * a.NumAttentionHeads * seqLen * seqLen;   // [B, H, T, S], S = T
        var (scoreSaved, scoreTransient) = ScoreBytesPerElement(e);
        double layerSaved = tokens * SavedBytesPerToken(a, e) + scores * scoreSaved;
        double outside = tokens * (4.0 + 2 * e) * a.HiddenSize;                  // final norm: fp32 input, normed, output
        // One layer's backward (or forward) at a time: the score temporaries plus gradients mirroring one layer's
        // saved tensors.
        double transient = scores * scoreTransient + tokens * SavedBytesPerToken(a, e);
        double total = checkpointing
            // Only each layer's input is kept; one layer is recomputed (and saved) at a time during backward.
            ? a.NumHiddenLayers * tokens * e * a.HiddenSize + layerSaved + outside + transient
            : a.NumHiddenLayers * layerSaved + outside + transient;
        return new ActivationBytes(layerSaved, outside, transient, total);
    }

    /// <summary>
    /// The chunked loss (<see cref="CausalLmLoss.Compute"/>): one chunk of fp32 logits [rows, V] (plus the weight-dtype
    /// matmul output and gradient cast in bf16), the gathered hidden rows, their stored gradient and its scaled copy
    /// [N, hidden], and in bf16 the fp32 accumulator of the output-head gradient [V, hidden].
    /// </summary>
    public static double LossBytes(DecoderArgs a, int e, int batch, int seqLen, int chunkRows, bool lmHeadTrainable)
    {
        double n = (double)batch * seqLen; // upper bound: every position trained
        double rows = Math.Min(chunkRows, n);
        double chunk = rows * a.VocabSize * (e == 4 ? 4 : 4 + 2 * e);
        double hiddenRows = 3 * n * a.HiddenSize * e;
        double headAccumulator = lmHeadTrainable && e != 4 ? 4.0 * a.VocabSize * a.HiddenSize : 0;
        return chunk + hiddenRows + headAccumulator;
    }
}
