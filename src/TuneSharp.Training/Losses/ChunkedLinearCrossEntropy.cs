using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses;

/// <summary>
/// Fused lm-head + cross entropy over rows that all count (ignored rows are removed by the caller).
/// Inputs: hidden [N, H], weight [V, H], targets [N] (int64, in [0, V)), chunk rows (int), needHiddenGrad (bool),
/// needWeightGrad (bool). Output: the summed loss, a 0-dim fp32 tensor.
/// Forward walks the rows in chunks: logits [n, V] in the weight dtype, fp32 log-softmax, and, while the chunk is
/// still in memory, the gradients d(sum)/d(hidden) and d(sum)/d(weight) from (softmax - onehot). Backward only scales
/// the stored gradients by the incoming scalar gradient (the approach of Liger's fused linear cross entropy), so the
/// peak extra memory is one chunk of logits instead of the full [N, V].
/// </summary>
sealed class ChunkedLinearCrossEntropy : autograd.SingleTensorFunction<ChunkedLinearCrossEntropy>
{
    public override string Name => "ChunkedLinearCrossEntropy";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var targets = (Tensor)vars[2];
        int chunkRows = (int)vars[3];
        bool needHidden = (bool)vars[4], needWeight = (bool)vars[5];

        using var scope = torch.NewDisposeScope();
        long n = hidden.shape[0], v = weight.shape[0], h = weight.shape[1];
        var lossSum = torch.zeros([], ScalarType.Float32, hidden.device);
        Tensor? gradHidden = needHidden ? torch.empty_like(hidden) : null;                        // [N, H]
        Tensor? gradWeight = needWeight ? torch.zeros([v, h], ScalarType.Float32, weight.device) : null; // [V, H] fp32 accumulator
        var weightT = weight.t();                                                                   // [H, V] view

        for (long start = 0; start < n; start += chunkRows)
        {
            using var chunkScope = torch.NewDisposeScope();
            long rows = Math.Min(chunkRows, n - start);
            var x = hidden.narrow(0, start, rows);                      // [n, H]
            var y = targets.narrow(0, start, rows).unsqueeze(1);        // [n, 1]
            // Logits in the weight dtype (bf16 matmul is fast), softmax statistics in fp32.
            var logits = torch.mm(x, weightT).to(ScalarType.Float32);  // [n, V]
            var lse = logits.logsumexp(1, keepdim: true);               // [n, 1]
            lossSum.add_((lse - logits.gather(1, y)).sum());
            if (!needHidden && !needWeight) continue;

            // d(sum of -log p_y)/d(logits) = softmax - onehot, built in place in the logits buffer.
            var dLogits = logits.sub_(lse).exp_();
            dLogits.scatter_add_(1, y, torch.full([rows, 1], -1f, ScalarType.Float32, logits.device));
            var dl = dLogits.to(weight.dtype);                          // [n, V]
            if (gradHidden is not null) gradHidden.narrow(0, start, rows).copy_(torch.mm(dl, weight));   // [n, H]
            if (gradWeight is not null)
            {
                if (weight.dtype == ScalarType.Float32) gradWeight.addmm_(dl.t(), x);                      // += [V, n] @ [n, H]
                else gradWeight.add_(torch.mm(dl.t(), x));
            }
        }

        // TorchSharp turns the saved tensors into native SavedVariables only after forward returns, so they must
        // outlive this scope (the caller's scope disposes the wrappers; the graph keeps the data until backward).
        ctx.save_for_backward([gradHidden?.MoveToOuterDisposeScope()!, gradWeight?.to(weight.dtype).MoveToOuterDisposeScope()!]);
        return lossSum.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        // Chain rule for a scalar output: scale the stored gradients (skip the multiply for the usual 1.0).
        bool one = gradOutput.item<float>() == 1f;
        Tensor? Scale(Tensor? g) => g is null ? null : one ? g : g.mul(gradOutput.to(g.dtype));
        return [Scale(saved[0])!, Scale(saved[1])!, null!, null!, null!, null!];
    }
}
