using System.Text;

namespace TuneSharp.Tokenizers;

/// <summary>
/// Canonical Unicode normalization (NFD, NFC) in managed code. string.Normalize does nothing under
/// InvariantGlobalization, so the tokenizer's NFC/NFD normalizers use this (tables in UnicodeTables.g.cs).
/// </summary>
static partial class UnicodeNormalization
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    static readonly Dictionary<int, (int First, int Second)> DecompositionMap;
    static readonly Dictionary<long, int> CompositionMap;

    // A static constructor runs after every field initializer of the partial class, so the generated tables exist by then.
    static UnicodeNormalization()
    {
        DecompositionMap = BuildDecompositions();
        CompositionMap = BuildCompositions();
    }

    static Dictionary<int, (int, int)> BuildDecompositions()
    {
        var map = new Dictionary<int, (int, int)>(Decompositions.Length / 3);
        for (int i = 0; i < Decompositions.Length; i += 3) map[Decompositions[i]] = (Decompositions[i + 1], Decompositions[i + 2]);
        return map;
    }

    static Dictionary<long, int> BuildCompositions()
    {
        var map = new Dictionary<long, int>(Compositions.Length / 3);
        for (int i = 0; i < Compositions.Length; i += 3) map[PairKey(Compositions[i], Compositions[i + 1])] = Compositions[i + 2];
        return map;
    }

    static long PairKey(int a, int b) => ((long)a << 21) | (uint)b;

    static int CombiningClass(int cp)
    {
        // Binary search over the sorted [start, end, ccc] runs.
        int lo = 0, hi = CccRanges.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < CccRanges[mid * 3]) hi = mid - 1;
            else if (cp > CccRanges[mid * 3 + 1]) lo = mid + 1;
            else return CccRanges[mid * 3 + 2];
        }
        return 0;
    }

    /// <summary>Code points below U+0300 never decompose nor combine with each other.</summary>
    static bool IsTriviallyNormalized(string s)
    {
        foreach (char c in s)
            if (c >= 0x300) return false;
        return true;
    }

    public static string Nfd(string s) => IsTriviallyNormalized(s) ? s : ToString(Decompose(s));

    public static string Nfc(string s) => IsTriviallyNormalized(s) ? s : ToString(Compose(Decompose(s)));

    static List<int> Decompose(string s)
    {
        var cps = new List<int>(s.Length);
        foreach (Rune r in s.EnumerateRunes()) DecomposeInto(r.Value, cps);
        // Canonical ordering: stable sort of each run of non-starters by combining class (insertion sort; runs are short).
        for (int i = 1; i < cps.Count; i++)
        {
            int cc = CombiningClass(cps[i]);
            if (cc == 0) continue;
            int j = i;
            while (j > 0 && CombiningClass(cps[j - 1]) > cc)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
        return cps;
    }

    static void DecomposeInto(int cp, List<int> output)
    {
        if (cp >= SBase && cp < SBase + SCount)
        {
            int index = cp - SBase;
            output.Add(LBase + index / NCount);
            output.Add(VBase + index % NCount / TCount);
            if (index % TCount != 0) output.Add(TBase + index % TCount);
            return;
        }
        if (!DecompositionMap.TryGetValue(cp, out var d))
        {
            output.Add(cp);
            return;
        }
        DecomposeInto(d.First, output);
        if (d.Second >= 0) DecomposeInto(d.Second, output);
    }

    static List<int> Compose(List<int> cps)
    {
        if (cps.Count == 0) return cps;
        var result = new List<int>(cps.Count);
        int starterIndex = -1;
        int lastClass = -1;
        foreach (int cp in cps)
        {
            int cc = CombiningClass(cp);
            // A character combines with the last starter unless blocked by an intervening mark of equal or higher class.
            if (starterIndex >= 0 && (lastClass < cc || lastClass == 0 && result.Count - 1 == starterIndex)
                && TryCompose(result[starterIndex], cp, out int composite))
            {
                result[starterIndex] = composite;
                continue;
            }
            if (cc == 0) starterIndex = result.Count;
            lastClass = cc;
            result.Add(cp);
        }
        return result;
    }

    static bool TryCompose(int a, int b, out int composite)
    {
        // Hangul LV and LVT syllables are algorithmic.
        if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }
        if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }
        return CompositionMap.TryGetValue(PairKey(a, b), out composite);
    }

    static string ToString(List<int> cps)
    {
        var sb = new StringBuilder(cps.Count);
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }
}
