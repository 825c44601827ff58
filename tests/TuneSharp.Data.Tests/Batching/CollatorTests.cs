using TuneSharp.Data.Batching;
using TuneSharp.Models;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Data.Tests.Batching;

public class CollatorTests
{
    static TokenizedSample Sample(int[] ids, int trainedFrom) =>
        new(ids, ids.Select((_, i) => i >= trainedFrom).ToArray());

    static readonly TokenizedSample[] Samples =
    [
        Sample([1, 10, 11, 12, 13, 2], 3),
        Sample([1, 20, 21, 2], 2),
        Sample([1, 30, 31, 32, 33, 34, 35, 2], 5),
        Sample([1, 40, 2], 1),
    ];

    [Fact]
    public void Pad_LabelsAreNextTokens_OnlyWhereTrained()
    {
        var b = Collator.Pad([Samples[0], Samples[1]], padId: 0);
        Assert.Equal((2, 6), (b.Rows, b.Length));
        // sample 0: tokens 3..5 trained → labels at positions 2..4 are ids[3..5]
        Assert.Equal(new long[] { -100, -100, 12, 13, 2, -100 }, b.Labels[..6]);
        // sample 1: tokens 2..3 trained, then padding
        Assert.Equal(new long[] { -100, 21, 2, -100, -100, -100 }, b.Labels[6..]);
        Assert.Equal(new long[] { 1, 20, 21, 2, 0, 0 }, b.InputIds[6..]);
        Assert.Equal(10, b.RealTokens);
        Assert.Equal(5, b.TrainedTokens);
        Assert.Null(b.SegmentIds);
    }

    [Fact]
    public void Pack_RestartsPositions_SeparatesSegments_NeverPredictsAcrossSamples()
    {
        var batches = Collator.Pack(Samples, rowLength: 10, rowsPerBatch: 8, padId: 0);
        var b = Assert.Single(batches);
        Assert.Equal(Samples.Sum(s => s.TrainedCount), b.TrainedTokens);
        Assert.Equal(Samples.Sum(s => s.Length), b.RealTokens);
        Assert.Equal(4, b.Samples);
        for (int r = 0; r < b.Rows; r++)
            for (int t = 0; t < b.Length; t++)
            {
                int i = r * b.Length + t;
                if (t > 0 && b.SegmentIds![i] != b.SegmentIds[i - 1] && b.SegmentIds[i] != 0)
                {
                    Assert.Equal(0, b.PositionIds[i]);                     // a new sample starts at position 0
                    Assert.Equal(TrainBatch.Ignore, b.Labels[i - 1]);      // its predecessor predicts nothing across
                }
            }
        Assert.True(Collator.Efficiency(batches) > Collator.Efficiency([Collator.Pad(Samples, 0)]));
    }

    [Fact]
    public void PackedBatch_LossAndGradients_EqualUnpacked()
    {
        // Tolerance 1e-5 (fp32): the same math in a different layout.
        var args = new DecoderArgs
        {
            ModelType = "llama", VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 64, RmsNormEps = 1e-6,
            Rope = new RopeArgs(10000, new RopeScaling.None()), TieWordEmbeddings = true,
        };
        using var model = new CausalLM(args);
        ModelInit.Normal(model, 5, 0.2);

        var (lossPadded, gradPadded) = LossAndGrad(model, Collator.Pad(Samples, 0));
        var (lossPacked, gradPacked) = LossAndGrad(model, Collator.Pack(Samples, 12, 8, 0).Single());
        Assert.Equal(lossPadded, lossPacked, 1e-5);
        Assert.True(gradPacked.allclose(gradPadded, rtol: 0, atol: 1e-5));
        gradPadded.Dispose();
        gradPacked.Dispose();
    }

    static (double Loss, Tensor Grad) LossAndGrad(CausalLM model, TrainBatch b)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        var ids = tensor(b.InputIds, [b.Rows, b.Length]);
        var pos = tensor(b.PositionIds, [b.Rows, b.Length]);
        var seg = b.SegmentIds is null ? null : tensor(b.SegmentIds, [b.Rows, b.Length]);
        var logits = model.Forward(ids, pos, segmentIds: seg);
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), tensor(b.Labels),
            ignore_index: TrainBatch.Ignore, reduction: nn.Reduction.Sum) / b.TrainedTokens;
        loss.backward();
        var grad = model.Model.EmbedTokens.Weight.grad!.clone().MoveToOuterDisposeScope();
        return (loss.item<float>(), grad);
    }
}
