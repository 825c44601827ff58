using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses;

/// <summary>
/// Summed log-probability of each sequence's labelled tokens, and how many tokens it covers. Shapes: [S] fp32 (with
/// gradients) and [S] int64.
/// </summary>
public readonly record struct SequenceScores(Tensor LogProbSum, Tensor TokenCount);

/// <summary>
/// Per-sequence log-probabilities, the quantity preference (DPO, ORPO, SimPO, KTO) and RL (GRPO) losses are written in:
/// log pi(y | x) = sum over the labelled positions t of log softmax(h_t W^T)[y_t].
/// Shapes: hidden [B, T, H], lmHeadWeight [V, H], labels [B, T] int64 ALREADY ALIGNED as in <see cref="CausalLmLoss"/>
/// (-100 = not scored). By default each batch row is one sequence (S = B); packed batches pass
/// <c>sequenceIndex</c> [B, T] (the output slot of each position, any value where the label is -100) and S.
/// The lm-head logits are computed in chunks of rows and never materialised for the whole batch: forward keeps only
/// each row's log-sum-exp, backward recomputes each chunk's logits (one extra head matmul per chunk).
/// </summary>
public static class SequenceLogProbs
{
    public static SequenceScores Compute(Tensor hidden, Tensor lmHeadWeight, Tensor labels,
        Tensor? sequenceIndex = null, long? sequences = null, int? chunkRows = null)
    {
        if (chunkRows <= 0) throw new ArgumentOutOfRangeException(nameof(chunkRows), $"log-probs: chunkRows must be > 0, got {chunkRows}");
        using var scope = torch.NewDisposeScope();
        var (rows, targets, slots, count) = CausalLmLoss.TrainedRows(hidden, lmHeadWeight, labels, sequenceIndex);
        long s = SequenceCount(labels, sequenceIndex, sequences);
        bool grad = torch.is_grad_enabled();
        var tokenLogProbs = ChunkedTokenLogProbs.apply(rows, lmHeadWeight, targets, chunkRows ?? CausalLmLoss.ChunkRowsFor(lmHeadWeight.shape[0]),
                grad && rows.requires_grad, grad && lmHeadWeight.requires_grad);                  // [N]
        var sum = torch.zeros([s], ScalarType.Float32, hidden.device).index_add(0, slots, tokenLogProbs, 1);   // [S]
        var tokens = torch.zeros([s], ScalarType.Int64, hidden.device)
            .index_add(0, slots, torch.ones([count], ScalarType.Int64, hidden.device), 1);                      // [S]
        return new SequenceScores(sum.MoveToOuterDisposeScope(), tokens.MoveToOuterDisposeScope());
    }

    /// <summary>Reference: full logits [B, T, V] in the weight dtype, fp32 log-softmax, gather, sum per sequence.</summary>
    public static SequenceScores Reference(Tensor hidden, Tensor lmHeadWeight, Tensor labels,
        Tensor? sequenceIndex = null, long? sequences = null)
    {
        using var scope = torch.NewDisposeScope();
        long s = SequenceCount(labels, sequenceIndex, sequences);
        var logits = nn.functional.linear(hidden, lmHeadWeight).to(ScalarType.Float32);          // [B, T, V]
        var mask = labels.ne(CausalLmLoss.IgnoreIndex);                                          // [B, T]
        var safe = labels.where(mask, torch.zeros_like(labels));                                 // [B, T]
        var logp = logits.log_softmax(-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1) * mask;    // [B, T]
        var slot = (sequenceIndex ?? RowIndex(labels)).where(mask, torch.zeros_like(labels));   // [B, T]
        var sum = torch.zeros([s], ScalarType.Float32, hidden.device).index_add(0, slot.reshape(-1), logp.reshape(-1), 1);
        var tokens = torch.zeros([s], ScalarType.Int64, hidden.device).index_add(0, slot.reshape(-1), mask.reshape(-1).to(ScalarType.Int64), 1);
        return new SequenceScores(sum.MoveToOuterDisposeScope(), tokens.MoveToOuterDisposeScope());
    }

    /// <summary>[B, T]: the row index b at every position (the default: one sequence per row).</summary>
    internal static Tensor RowIndex(Tensor labels) =>
        torch.arange(labels.shape[0], dtype: ScalarType.Int64, device: labels.device).unsqueeze(1).expand(labels.shape[0], labels.shape[1]);

    static long SequenceCount(Tensor labels, Tensor? sequenceIndex, long? sequences)
    {
        if (sequenceIndex is null) return sequences is { } n && n != labels.shape[0]
            ? throw new ArgumentException($"log-probs: {n} sequences given without a sequence index; one per row means {labels.shape[0]}")
            : labels.shape[0];
        if (sequences is not { } s || s < 0) throw new ArgumentException("log-probs: a sequence index needs the number of sequences");
        if (!sequenceIndex.shape.SequenceEqual(labels.shape) || sequenceIndex.dtype != ScalarType.Int64)
            throw new ArgumentException($"log-probs: the sequence index must be int64 [{string.Join(", ", labels.shape)}], got {sequenceIndex.dtype} [{string.Join(", ", sequenceIndex.shape)}]");
        return s;
    }
}

/// <summary>
/// log softmax(x W^T)[y] per row, in chunks. Inputs: hidden rows [N, H], weight [V, H], targets [N] int64, chunk rows,
/// needHiddenGrad, needWeightGrad. Output [N] fp32. Forward saves each row's log-sum-exp; backward recomputes the chunk's
/// logits: d logp_i / d logits_i = onehot(y_i) - softmax_i, scaled by the incoming gradient g_i.
/// </summary>
sealed class ChunkedTokenLogProbs : autograd.SingleTensorFunction<ChunkedTokenLogProbs>
{
    public override string Name => "ChunkedTokenLogProbs";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var targets = (Tensor)vars[2];
        int chunkRows = (int)vars[3];
        ctx.save_data("chunk_rows", chunkRows);
        ctx.save_data("need_hidden", (bool)vars[4]);
        ctx.save_data("need_weight", (bool)vars[5]);

        using var scope = torch.NewDisposeScope();
        long n = hidden.shape[0];
        var logp = torch.empty([n], ScalarType.Float32, hidden.device);   // [N]
        var lse = torch.empty([n], ScalarType.Float32, hidden.device);    // [N]
        var weightT = weight.t();                                          // [H, V] view
        for (long start = 0; start < n; start += chunkRows)
        {
            using var chunkScope = torch.NewDisposeScope();
            long rows = Math.Min(chunkRows, n - start);
            // Logits in the weight dtype (bf16 matmul is fast), softmax statistics in fp32.
            var logits = torch.mm(hidden.narrow(0, start, rows), weightT).to(ScalarType.Float32);  // [n, V]
            var chunkLse = logits.logsumexp(1);                                                    // [n]
            lse.narrow(0, start, rows).copy_(chunkLse);
            var y = targets.narrow(0, start, rows).unsqueeze(1);                                   // [n, 1]
            logp.narrow(0, start, rows).copy_(logits.gather(1, y).squeeze(1) - chunkLse);
        }
        // Saved tensors must outlive this scope (TorchSharp converts them after forward returns).
        ctx.save_for_backward([hidden, weight, targets, lse.MoveToOuterDisposeScope()]);
        return logp.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        Tensor hidden = saved[0], weight = saved[1], targets = saved[2], lse = saved[3];
        int chunkRows = (int)ctx.get_data("chunk_rows");
        bool needHidden = (bool)ctx.get_data("need_hidden"), needWeight = (bool)ctx.get_data("need_weight");
        using var scope = torch.NewDisposeScope();
        long n = hidden.shape[0], v = weight.shape[0], h = weight.shape[1];
        var g = gradOutput.to(ScalarType.Float32);                                                        // [N]
        Tensor? gradHidden = needHidden ? torch.empty_like(hidden) : null;                                // [N, H]
        Tensor? gradWeight = needWeight ? torch.zeros([v, h], ScalarType.Float32, weight.device) : null;  // [V, H] fp32 accumulator
        var weightT = weight.t();
        for (long start = 0; start < n; start += chunkRows)
        {
            using var chunkScope = torch.NewDisposeScope();
            long rows = Math.Min(chunkRows, n - start);
            var x = hidden.narrow(0, start, rows);                                                        // [n, H]
            var gc = g.narrow(0, start, rows).unsqueeze(1);                                               // [n, 1]
            // d(g * logp)/d logits = g * (onehot - softmax), built in place in the recomputed logits buffer.
            var d = torch.mm(x, weightT).to(ScalarType.Float32)
                .sub_(lse.narrow(0, start, rows).unsqueeze(1)).exp_().mul_(gc).neg_();                   // [n, V]
            d.scatter_add_(1, targets.narrow(0, start, rows).unsqueeze(1), gc);
            var dl = d.to(weight.dtype);
            if (gradHidden is not null) gradHidden.narrow(0, start, rows).copy_(torch.mm(dl, weight));   // [n, H]
            if (gradWeight is not null)
            {
                if (weight.dtype == ScalarType.Float32) gradWeight.addmm_(dl.t(), x);                      // += [V, n] @ [n, H]
                else gradWeight.add_(torch.mm(dl.t(), x));
            }
        }
        return [gradHidden?.MoveToOuterDisposeScope()!, gradWeight?.to(weight.dtype).MoveToOuterDisposeScope()!, null!, null!, null!, null!];
    }
}
