using TuneSharp.Models.Common;
using static TorchSharp.torch;

namespace TuneSharp.Eval.Scoring;

/// <summary>
/// A read-only key/value prefix shared by every row of a forward: the keys and values of one context [1, Hkv, P, D]
/// per layer, computed once, seen by B continuation rows. <see cref="Update"/> returns the prefix (expanded to B rows,
/// no copy) followed by the rows' own new keys; nothing is stored, so the same prefix serves any number of forwards.
/// </summary>
internal sealed class PrefixKvCache(KvCache prefix) : IKvCache
{
    public int Length => prefix.Length;

    public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v)
    {
        long b = k.shape[0];
        var pk = prefix.Keys(layer).expand(b, -1, -1, -1);   // [B, Hkv, P, D]
        var pv = prefix.Values(layer).expand(b, -1, -1, -1); // [B, Hkv, P, D]
        return (cat([pk, k], 2), cat([pv, v], 2));           // [B, Hkv, P + T, D]: one concatenation per forward, never grown
    }

    public void Advance(int positions) { } // the prefix stays as it is: the continuations are not kept
}
