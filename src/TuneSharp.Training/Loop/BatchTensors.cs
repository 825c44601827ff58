using TuneSharp.Data.Batching;
using static TorchSharp.torch;

namespace TuneSharp.Training.Loop;

/// <summary>A <see cref="TrainBatch"/>'s arrays as int64 tensors [B, T] on the training device.</summary>
public readonly record struct BatchTensors(Tensor Ids, Tensor Positions, Tensor? Segments, Tensor Labels)
{
    /// <summary>Creates the tensors in the current dispose scope.</summary>
    public static BatchTensors Of(TrainBatch b, Device device) => new(
        tensor(b.InputIds, [b.Rows, b.Length], device: device),
        tensor(b.PositionIds, [b.Rows, b.Length], device: device),
        b.SegmentIds is null ? null : tensor(b.SegmentIds, [b.Rows, b.Length], device: device),
        tensor(b.Labels, [b.Rows, b.Length], device: device));
}
