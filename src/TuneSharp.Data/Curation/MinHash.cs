using TuneSharp.Data.Contamination;

namespace TuneSharp.Data.Curation;

/// <summary>
/// MinHash signatures of a text's word shingles (Broder 1997): the text's words (<see cref="NGrams.Words"/>: case and
/// punctuation ignored) in runs of <see cref="ShingleWords"/>, each run hashed to 64 bits, then for each of
/// <see cref="Size"/> hash functions h_i(x) = (a_i x + b_i) mod (2^61 - 1) the minimum over the shingles. The fraction of
/// positions where two signatures agree estimates the Jaccard similarity of the two shingle sets (standard error
/// sqrt(J (1 - J) / Size)). The functions come from a fixed seed: the same text always gets the same signature.
/// </summary>
public sealed class MinHash
{
    const ulong Prime = (1UL << 61) - 1;
    readonly ulong[] _a, _b;

    public MinHash(int size = 128, int shingleWords = 5, ulong seed = 0x5eed)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "at least one hash function");
        if (shingleWords < 1) throw new ArgumentOutOfRangeException(nameof(shingleWords), shingleWords, "shingles of at least one word");
        (Size, ShingleWords) = (size, shingleWords);
        _a = new ulong[size];
        _b = new ulong[size];
        ulong state = seed;
        for (int i = 0; i < size; i++)
        {
            _a[i] = SplitMix(ref state) % (Prime - 1) + 1;
            _b[i] = SplitMix(ref state) % Prime;
        }
    }

    public int Size { get; }
    public int ShingleWords { get; }

    /// <summary>The distinct shingle hashes of <paramref name="text"/> (a text shorter than a shingle is one shingle).</summary>
    public HashSet<ulong> Shingles(string text)
    {
        var words = NGrams.Words(text);
        if (words.Count == 0) return [];
        int n = Math.Min(ShingleWords, words.Count);
        return [.. NGrams.Hashes(words, n)];
    }

    /// <summary>The signature; all <see cref="ulong.MaxValue"/> for a text without words.</summary>
    public ulong[] Signature(string text) => Signature(Shingles(text));

    public ulong[] Signature(IReadOnlyCollection<ulong> shingles)
    {
        var sig = new ulong[Size];
        Array.Fill(sig, ulong.MaxValue);
        foreach (ulong s in shingles)
        {
            ulong x = s % Prime;
            for (int i = 0; i < Size; i++)
            {
                ulong h = MulMod(_a[i], x) + _b[i];
                if (h >= Prime) h -= Prime;
                if (h < sig[i]) sig[i] = h;
            }
        }
        return sig;
    }

    /// <summary>The fraction of equal positions: the estimated Jaccard similarity.</summary>
    public static double Similarity(ulong[] x, ulong[] y)
    {
        if (x.Length != y.Length) throw new ArgumentException("signatures of different sizes");
        int equal = 0;
        for (int i = 0; i < x.Length; i++) if (x[i] == y[i] && x[i] != ulong.MaxValue) equal++;
        return (double)equal / x.Length;
    }

    static ulong MulMod(ulong a, ulong b) => (ulong)((UInt128)a * b % Prime);

    static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
