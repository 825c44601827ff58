using System.Text;
using System.Text.RegularExpressions;

namespace TuneSharp.Graders.Similarity;

/// <summary>The tokenizations the similarity metrics use (the same regexes are in tools/graders/similarity_goldens.py).</summary>
internal static partial class TextTokens
{
    /// <summary>BLEU/GLEU: words and single punctuation marks, case kept (Python: <c>re.findall(r"\w+|[^\w\s]", text)</c>).</summary>
    public static string[] Words(string text) => [.. WordRegex().Matches(text).Select(m => m.Value)];

    /// <summary>
    /// ROUGE: rouge_score's default tokenizer without stemming: lowercase, every run of characters outside [a-z0-9]
    /// becomes a space, split on whitespace.
    /// </summary>
    public static string[] Rouge(string text) =>
        NonAlnumRegex().Replace(text.ToLowerInvariant(), " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Unicode code points (what Python indexes a str by), so surrogate pairs count once.</summary>
    public static int[] CodePoints(string text)
    {
        var points = new List<int>(text.Length);
        foreach (Rune r in text.EnumerateRunes()) points.Add(r.Value);
        return [.. points];
    }

    /// <summary>Counts of the n-grams of one order.</summary>
    public static Dictionary<string, int> NGrams(string[] tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Length; i++)
        {
            string key = string.Join('\u0001', tokens, i, n);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>Clipped overlap: sum over n-grams of min(count in a, count in b).</summary>
    public static int Overlap(Dictionary<string, int> a, Dictionary<string, int> b) =>
        a.Sum(kv => Math.Min(kv.Value, b.GetValueOrDefault(kv.Key)));

    /// <summary>Length of the longest common subsequence (O(n·m) time, O(m) memory).</summary>
    public static int Lcs<T>(IReadOnlyList<T> a, IReadOnlyList<T> b) where T : IEquatable<T>
    {
        var prev = new int[b.Count + 1];
        var cur = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
                cur[j] = a[i - 1].Equals(b[j - 1]) ? prev[j - 1] + 1 : Math.Max(prev[j], cur[j - 1]);
            (prev, cur) = (cur, prev);
        }
        return prev[b.Count];
    }

    [GeneratedRegex(@"\w+|[^\w\s]")]
    private static partial Regex WordRegex();

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonAlnumRegex();
}
