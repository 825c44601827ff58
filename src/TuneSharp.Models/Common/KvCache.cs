using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>What attention needs from a key/value cache during a forward with one.</summary>
public interface IKvCache
{
    /// <summary>The cache index of the forward's first query: the keys before it are already cached.</summary>
    int Length { get; }

    /// <summary>Stores k/v [B, Hkv, T, D] of <paramref name="layer"/> and returns every key/value the queries see [B, Hkv, S, D].</summary>
    (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v);

    /// <summary>Called once per forward, after every layer has written its T new positions.</summary>
    void Advance(int positions);
}

/// <summary>
/// Preallocated key/value cache: per layer K and V of [B, Hkv, S_max, D], filled in place (never grown with cat).
/// <see cref="Length"/> is the number of positions already written; all rows share it (left padding keeps rows aligned).
/// </summary>
public sealed class KvCache : IKvCache, IDisposable
{
    readonly Tensor[] _keys;
    readonly Tensor[] _values;

    public KvCache(DecoderArgs args, int batchSize, int maxLength, ScalarType dtype, Device device)
    {
        BatchSize = batchSize;
        MaxLength = maxLength;
        _keys = new Tensor[args.NumHiddenLayers];
        _values = new Tensor[args.NumHiddenLayers];
        for (int i = 0; i < args.NumHiddenLayers; i++)
        {
            _keys[i] = zeros(batchSize, args.NumKeyValueHeads, maxLength, args.HeadDim, dtype: dtype, device: device);
            _values[i] = zeros(batchSize, args.NumKeyValueHeads, maxLength, args.HeadDim, dtype: dtype, device: device);
        }
    }

    public int BatchSize { get; }
    public int MaxLength { get; }
    public int Length { get; private set; }

    /// <summary>
    /// Writes k/v [B, Hkv, T, D] of <paramref name="layer"/> at positions [Length, Length + T) and returns views of the
    /// filled part [B, Hkv, Length + T, D]. <see cref="Advance"/> commits the length once all layers have written.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        long end = Length + t;
        if (end > MaxLength)
            throw new InvalidOperationException($"KV cache is full: {Length} + {t} positions exceed its {MaxLength}");
        _keys[layer][.., .., Length..(int)end].copy_(k);
        _values[layer][.., .., Length..(int)end].copy_(v);
        return (_keys[layer][.., .., ..(int)end], _values[layer][.., .., ..(int)end]);
    }

    public void Advance(int positions) => Length += positions;

    /// <summary>The filled keys of <paramref name="layer"/> [B, Hkv, Length, D] (a view).</summary>
    public Tensor Keys(int layer) => _keys[layer][.., .., ..Length];

    /// <summary>The filled values of <paramref name="layer"/> [B, Hkv, Length, D] (a view).</summary>
    public Tensor Values(int layer) => _values[layer][.., .., ..Length];

    /// <summary>Forget everything (the buffers are kept).</summary>
    public void Reset() => Length = 0;

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
