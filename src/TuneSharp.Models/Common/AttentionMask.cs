using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// Which keys each query may attend to, built once per forward and shared by all layers. Combines causality
/// (by cache index, not position id), key padding, packed-sample segments and a sliding window.
/// </summary>
public static class AttentionMask
{
    /// <summary>
    /// Boolean mask [B or 1, 1, 1, T, S] (true = attend) for T queries at cache indices [past, past + T) over S = past + T
    /// keys. <paramref name="keyPadding"/> [B, S] (1 = real token) masks padding keys; <paramref name="segmentIds"/> [B, T]
    /// (no cache) restricts attention to the query's own packed sample. The two singleton dims broadcast over
    /// KV heads and query groups.
    /// </summary>
    public static Tensor Build(long t, long past, Device device, Tensor? keyPadding = null, Tensor? segmentIds = null,
        int? slidingWindow = null)
    {
        using var scope = NewDisposeScope();
        long s = past + t;
        var q = arange(past, s, dtype: ScalarType.Int64, device: device).unsqueeze(1); // [T, 1]
        var k = arange(0, s, dtype: ScalarType.Int64, device: device).unsqueeze(0);    // [1, S]
        var allowed = k <= q;                                                            // causal [T, S]
        if (slidingWindow is { } w) allowed = allowed.logical_and(q - k < w);
        allowed = allowed.unsqueeze(0);                                                  // [1, T, S]
        if (segmentIds is not null)
        {
            if (past != 0) throw new ArgumentException("segment ids (packing) cannot be combined with a KV cache");
            allowed = allowed.logical_and(segmentIds.unsqueeze(2) == segmentIds.unsqueeze(1)); // [B, T, S]
        }
        if (keyPadding is not null)
            allowed = allowed.logical_and(keyPadding.to(ScalarType.Bool).unsqueeze(1));        // [B, T, S]
        return allowed.unsqueeze(1).unsqueeze(1).MoveToOuterDisposeScope();                  // [B, 1, 1, T, S]
    }
}
