using static TorchSharp.torch;

namespace TuneSharp.Models.Common;

/// <summary>
/// Key/value cache for continuous batching: per layer K and V of [slots, Hkv, S_max, D], preallocated (never grown with
/// cat), where each slot holds one sequence with its own length. Occupied slots are kept packed in [0, Count), so a decode
/// step runs on the narrow view of the first Count slots without copying. A decode step writes each row's new key at that
/// row's own length; rows attend to keys [0, length] through the key padding that <see cref="KeyPadding"/> builds.
/// </summary>
public sealed class SlotKvCache : IKvCache, IDisposable
{
    readonly Tensor[] _keys;
    readonly Tensor[] _values;
    readonly int[] _lengths;
    int _rows; // rows of the current decode step (set by BeginStep)

    public SlotKvCache(DecoderArgs args, int slots, int maxLength, ScalarType dtype, Device device)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "must be >= 1");
        Slots = slots;
        MaxLength = maxLength;
        _lengths = new int[slots];
        _keys = new Tensor[args.NumHiddenLayers];
        _values = new Tensor[args.NumHiddenLayers];
        for (int i = 0; i < args.NumHiddenLayers; i++)
        {
            _keys[i] = zeros(slots, args.NumKeyValueHeads, maxLength, args.HeadDim, dtype: dtype, device: device);
            _values[i] = zeros(slots, args.NumKeyValueHeads, maxLength, args.HeadDim, dtype: dtype, device: device);
        }
    }

    public int Slots { get; }
    public int MaxLength { get; }
    /// <summary>Occupied slots: [0, Count).</summary>
    public int Count { get; private set; }

    /// <summary>Positions cached for the sequence in <paramref name="slot"/>.</summary>
    public int LengthOf(int slot) => _lengths[slot];

    /// <summary>The longest occupied slot's length: the cache index of a decode step's query (keys after a row's own length are masked).</summary>
    public int Length { get; private set; }

    /// <summary>Copies a sequence prefilled alone (<paramref name="source"/>, batch 1) into the next free slot; returns the slot.</summary>
    public int Add(KvCache source)
    {
        if (Count == Slots) throw new InvalidOperationException($"all {Slots} slots are occupied");
        if (source.BatchSize != 1) throw new ArgumentException($"a prefill cache of batch {source.BatchSize}, expected 1", nameof(source));
        if (source.Length > MaxLength) throw new ArgumentException($"{source.Length} positions exceed the slots' {MaxLength}", nameof(source));
        int slot = Count++, n = source.Length;
        using var scope = NewDisposeScope();
        for (int l = 0; l < _keys.Length; l++)
        {
            _keys[l][slot, .., ..n].copy_(source.Keys(l)[0]);
            _values[l][slot, .., ..n].copy_(source.Values(l)[0]);
        }
        _lengths[slot] = n;
        return slot;
    }

    /// <summary>
    /// Frees <paramref name="slot"/>: the last occupied slot moves into it (its filled part is copied), so the occupied slots
    /// stay packed. Returns the slot that moved (the caller renumbers it), or -1 when the freed slot was the last.
    /// </summary>
    public int Remove(int slot)
    {
        if ((uint)slot >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"only {Count} slots are occupied");
        int last = --Count;
        if (slot == last) return -1;
        int n = _lengths[last];
        using var scope = NewDisposeScope();
        for (int l = 0; l < _keys.Length; l++)
        {
            _keys[l][slot, .., ..n].copy_(_keys[l][last, .., ..n]);
            _values[l][slot, .., ..n].copy_(_values[l][last, .., ..n]);
        }
        _lengths[slot] = n;
        return last;
    }

    /// <summary>
    /// Prepares a decode step of one new token for every occupied slot and returns the key padding [Count, Length + 1]
    /// (1 = a key of that row). The caller passes each row's length as its position id.
    /// </summary>
    public Tensor KeyPadding()
    {
        if (Count == 0) throw new InvalidOperationException("no occupied slot");
        _rows = Count;
        Length = _lengths.Take(Count).Max();
        if (Length + 1 > MaxLength) throw new InvalidOperationException($"KV cache slot is full: {Length} + 1 positions exceed its {MaxLength}");
        using var scope = NewDisposeScope();
        var device = _keys[0].device;
        var lengths = tensor(_lengths.Take(Count).Select(x => (long)x).ToArray(), device: device).unsqueeze(1); // [Count, 1]
        var keys = arange(Length + 1, dtype: ScalarType.Int64, device: device).unsqueeze(0);                    // [1, S]
        return (keys <= lengths).to(ScalarType.Int64).MoveToOuterDisposeScope();                   // [Count, S]
    }

    /// <summary>Writes k/v [Count, Hkv, 1, D] of <paramref name="layer"/> at each row's own length; returns keys/values [Count, Hkv, S, D].</summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
    {
        if (k.shape[0] != _rows || k.shape[2] != 1)
            throw new ArgumentException($"a slot cache decode step takes [{_rows}, Hkv, 1, D], got [{string.Join(", ", k.shape)}]");
        var at = tensor(_lengths.Take(_rows).Select(x => (long)x).ToArray(), device: k.device)
            .view(_rows, 1, 1, 1).expand(_rows, k.shape[1], 1, k.shape[3]); // [Count, Hkv, 1, D]: each row's write index
        var keys = _keys[layer].narrow(0, 0, _rows);
        var values = _values[layer].narrow(0, 0, _rows);
        keys.scatter_(2, at, k);
        values.scatter_(2, at, v);
        int s = Length + 1;
        return (keys[.., .., ..s], values[.., .., ..s]);
    }

    /// <summary>Every row of the step has one more position.</summary>
    public void Advance(int positions)
    {
        for (int r = 0; r < _rows; r++) _lengths[r] += positions;
    }

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
