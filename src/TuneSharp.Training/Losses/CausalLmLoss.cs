using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses;

/// <summary>The summed token loss of a micro-batch and how many tokens it covers.</summary>
/// <param name="SumLoss">0-dim fp32: sum over trained tokens of -log p(label). Divide by the token count of the whole
/// optimizer step (all micro-batches) before backward, see docs/training-math.md.</param>
/// <param name="TokenCount">Number of labels that are not <see cref="CausalLmLoss.IgnoreIndex"/>.</param>
public readonly record struct LossSum(Tensor SumLoss, long TokenCount);

/// <summary>Summed loss, correct argmax predictions and trained tokens of an evaluation batch.</summary>
public readonly record struct EvalScore(double SumLoss, long Correct, long TokenCount);

/// <summary>
/// Causal language-model loss from the final hidden states and the lm-head weight.
/// Shapes: hidden [B, T, H], lmHeadWeight [V, H], labels [B, T] int64. Labels are ALREADY ALIGNED: labels[b, t] is the
/// target of position t (the token at t + 1 for plain next-token prediction, see <see cref="ShiftLabels"/>);
/// <see cref="IgnoreIndex"/> (-100) marks positions that are not trained.
/// </summary>
public static class CausalLmLoss
{
    public const long IgnoreIndex = -100;

    /// <summary>Largest number of token rows per chunk (small vocabularies).</summary>
    public const int MaxChunkRows = 1024;

    /// <summary>
    /// Token rows per chunk for a vocabulary of <paramref name="vocab"/>: about 32M logits per chunk (128 MB in fp32),
    /// a multiple of 64, between 64 and <see cref="MaxChunkRows"/>: 1024 rows for V = 32000, 640 for 49152, 192 for
    /// 151936. Peak extra memory of the loss is about rows * V * (4 + 2 * dtype bytes) plus the head gradient.
    /// </summary>
    public static int ChunkRowsFor(long vocab) => (int)Math.Clamp((1L << 25) / Math.Max(1, vocab) / 64 * 64, 64, MaxChunkRows);

    /// <summary>
    /// Summed cross entropy computed in chunks of <paramref name="chunkRows"/> trained tokens, never materializing the
    /// full logits; gradients flow to <paramref name="hidden"/> and <paramref name="lmHeadWeight"/> when they require them.
    /// Logits are computed in the weight dtype, softmax and loss in fp32. Hidden and weight must have the same dtype.
    /// </summary>
    public static LossSum Compute(Tensor hidden, Tensor lmHeadWeight, Tensor labels, int? chunkRows = null)
    {
        if (chunkRows <= 0) throw new ArgumentOutOfRangeException(nameof(chunkRows), $"loss: chunkRows must be > 0, got {chunkRows}");
        using var scope = torch.NewDisposeScope();
        var (x, y, count) = TrainedRows(hidden, lmHeadWeight, labels);
        bool grad = torch.is_grad_enabled();
        var loss = ChunkedLinearCrossEntropy.apply(x, lmHeadWeight, y, chunkRows ?? ChunkRowsFor(lmHeadWeight.shape[0]),
            grad && x.requires_grad, grad && lmHeadWeight.requires_grad);
        return new LossSum(loss.MoveToOuterDisposeScope(), count);
    }

    /// <summary>Reference implementation: full logits <c>hidden @ W^T</c> (weight dtype), fp32 cross entropy, sum.</summary>
    public static LossSum Reference(Tensor hidden, Tensor lmHeadWeight, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        CheckShapes(hidden, lmHeadWeight, labels);
        long v = lmHeadWeight.shape[0];
        var logits = nn.functional.linear(hidden, lmHeadWeight).to(ScalarType.Float32);   // [B, T, V]
        var loss = nn.functional.cross_entropy(logits.reshape(-1, v), labels.reshape(-1),
            ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        long count = labels.ne(IgnoreIndex).sum().item<long>();
        return new LossSum(loss.MoveToOuterDisposeScope(), count);
    }

    /// <summary>
    /// Evaluation in one chunked pass without gradients: summed loss (fp32 softmax statistics, as <see cref="Compute"/>),
    /// argmax-equals-label count and trained-token count. The lm-head logits are computed once per chunk.
    /// </summary>
    public static EvalScore Score(Tensor hidden, Tensor lmHeadWeight, Tensor labels, int? chunkRows = null)
    {
        int rowsPerChunk = chunkRows ?? ChunkRowsFor(lmHeadWeight.shape[0]);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (x, y, count) = TrainedRows(hidden, lmHeadWeight, labels);
        double sum = 0;
        long correct = 0;
        for (long start = 0; start < count; start += rowsPerChunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            long rows = Math.Min(rowsPerChunk, count - start);
            var target = y.narrow(0, start, rows);
            var logits = torch.mm(x.narrow(0, start, rows), lmHeadWeight.t()).to(ScalarType.Float32); // [n, V]
            sum += (logits.logsumexp(1) - logits.gather(1, target.unsqueeze(1)).squeeze(1)).sum().item<float>();
            correct += logits.argmax(1).eq(target).sum().item<long>();
        }
        return new EvalScore(sum, correct, count);
    }

    /// <summary>
    /// HF-style labels (same positions as input ids, -100 where not trained) to aligned labels:
    /// out[:, t] = labels[:, t + 1], out[:, T - 1] = -100. [B, T] -> [B, T].
    /// </summary>
    public static Tensor ShiftLabels(Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        long t = labels.shape[^1];
        var pad = torch.full([labels.shape[0], 1], IgnoreIndex, ScalarType.Int64, labels.device);
        var shifted = torch.cat([labels.narrow(1, 1, t - 1).to(ScalarType.Int64), pad], 1);
        return shifted.MoveToOuterDisposeScope();
    }

    // Rows with a label: hidden [N, H] (through index_select, so autograd scatters the gradient back) and targets [N].
    static (Tensor Hidden, Tensor Targets, long Count) TrainedRows(Tensor hidden, Tensor weight, Tensor labels)
    {
        var (rows, targets, _, count) = TrainedRows(hidden, weight, labels, sequenceIndex: null);
        return (rows, targets, count);
    }

    /// <summary>
    /// The labelled rows of a batch: hidden [N, H] (through index_select, so autograd scatters the gradient back),
    /// targets [N], and each row's sequence slot [N] (from <paramref name="sequenceIndex"/> [B, T], or the batch row).
    /// Labels outside the vocabulary are an error.
    /// </summary>
    internal static (Tensor Hidden, Tensor Targets, Tensor Slots, long Count) TrainedRows(Tensor hidden, Tensor weight, Tensor labels,
        Tensor? sequenceIndex)
    {
        CheckShapes(hidden, weight, labels);
        long h = hidden.shape[^1], v = weight.shape[0];
        var flatLabels = labels.reshape(-1);                                   // [B*T]
        var index = flatLabels.ne(IgnoreIndex).nonzero().squeeze(1);          // [N]
        var targets = flatLabels.index_select(0, index);                       // [N]
        long count = index.shape[0];
        if (count > 0)
        {
            long min = targets.min().item<long>(), max = targets.max().item<long>();
            if (min < 0 || max >= v)
                throw new ArgumentException($"loss: label {(min < 0 ? min : max)} is outside the vocabulary [0, {v}) (and is not {IgnoreIndex})");
        }
        var rows = hidden.reshape(-1, h).index_select(0, index);               // [N, H]
        var slots = (sequenceIndex ?? SequenceLogProbs.RowIndex(labels)).reshape(-1).index_select(0, index); // [N]
        return (rows, targets, slots, count);
    }

    static void CheckShapes(Tensor hidden, Tensor weight, Tensor labels)
    {
        if (hidden.dim() != 3 || weight.dim() != 2 || labels.dim() != 2)
            throw new ArgumentException($"loss: expected hidden [B, T, H], weight [V, H], labels [B, T]; got hidden {Shape(hidden)}, weight {Shape(weight)}, labels {Shape(labels)}");
        if (hidden.shape[0] != labels.shape[0] || hidden.shape[1] != labels.shape[1] || hidden.shape[2] != weight.shape[1])
            throw new ArgumentException($"loss: shapes do not match: hidden {Shape(hidden)}, weight {Shape(weight)}, labels {Shape(labels)}");
        if (hidden.dtype != weight.dtype)
            throw new ArgumentException($"loss: hidden is {hidden.dtype} but the lm-head weight is {weight.dtype}; cast one of them");
        if (labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"loss: labels must be int64, got {labels.dtype}");
    }

    static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
