using TorchSharp;
using TuneSharp.Models.Common;
using static TorchSharp.torch;

namespace TuneSharp.Models;

/// <summary>
/// A reward model's scalar score per sequence, as Hugging Face's <c>*ForSequenceClassification</c> with
/// <c>num_labels = 1</c>: <c>score</c> = Linear(hidden, 1, bias = false) applied to the decoder's final (normed) hidden
/// state at the last non-pad token of each row.
/// </summary>
public static class SequenceScore
{
    /// <summary>The head's module name (HF <c>score</c>; parameter <c>score.weight</c> [1, hidden]).</summary>
    public const string HeadName = "score";

    /// <summary>
    /// Creates and attaches a new fp32 head initialized as HF's <c>_init_weights</c> does for a Linear:
    /// N(0, initializer_range), drawn from its own generator seeded with <paramref name="seed"/> (the training RNG is
    /// left untouched). The head stays fp32 on a bf16 base: the scores and their gradients are computed in fp32.
    /// </summary>
    public static DenseLinear AddScoreHead(this CausalLM model, long seed)
    {
        var head = NewHead(model);
        using (no_grad())
        using (var gen = new Generator().manual_seed(seed))
            head.Weight.normal_(0.0, model.Args.InitializerRange, gen);
        model.AttachScoreHead(head);
        return head;
    }

    /// <summary>An uninitialized fp32 head [1, hidden] on the model's device (weights to be loaded).</summary>
    public static DenseLinear NewHead(CausalLM model)
    {
        var head = new DenseLinear(model.Args.HiddenSize, 1, false, ScalarType.Float32);
        var device = model.LmHeadWeight.device;
        if (device.type != DeviceType.CPU) head.to(device);
        return head;
    }

    /// <summary>
    /// HF's pooling index: the rightmost position whose token is not <paramref name="padId"/>
    /// (<c>argmax(arange(T) * (ids != pad))</c>), so left- and right-padded rows both pool their last real token.
    /// A row of pad tokens only pools position 0. ids [B, T] → [B] int64.
    /// </summary>
    public static Tensor LastNonPadIndex(Tensor ids, long padId)
    {
        using var scope = NewDisposeScope();
        var positions = arange(ids.shape[1], dtype: ScalarType.Int64, device: ids.device);            // [T]
        return (positions * ids.ne(padId).to(ScalarType.Int64)).argmax(-1).MoveToOuterDisposeScope(); // [B]
    }

    /// <summary>
    /// Scores [B] (fp32) of token rows [B, T]: one decoder forward (the LM head is never applied), the hidden state at
    /// <see cref="LastNonPadIndex"/> of each row, through the score head. Left-padded rows need their
    /// <paramref name="positionIds"/> and <paramref name="keyPadding"/> (see <see cref="CausalLM.Hidden"/>).
    /// </summary>
    public static Tensor Scores(this CausalLM model, Tensor ids, long padId, Tensor? positionIds = null, Tensor? keyPadding = null)
    {
        var head = model.ScoreHead ?? throw new InvalidOperationException("the model has no score head (not a reward model)");
        using var scope = NewDisposeScope();
        var hidden = model.Hidden(ids, positionIds, keyPadding);                                      // [B, T, hidden]
        var last = LastNonPadIndex(ids, padId);                                                        // [B]
        var rows = arange(ids.shape[0], dtype: ScalarType.Int64, device: ids.device);                  // [B]
        var pooled = hidden.index([TensorIndex.Tensor(rows), TensorIndex.Tensor(last)]);               // [B, hidden]
        // fp32 head on an fp32 copy of the pooled state: a bf16 base still gets fp32 scores.
        return head.call(pooled.to(ScalarType.Float32)).squeeze(-1).MoveToOuterDisposeScope();         // [B]
    }
}
