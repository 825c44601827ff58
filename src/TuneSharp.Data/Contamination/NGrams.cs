using System.Globalization;
using System.Text;

namespace TuneSharp.Data.Contamination;

/// <summary>
/// Word n-grams as the GPT-3 paper's and lm-evaluation-harness's decontamination define them: case and punctuation
/// ignored, words split on whitespace. Each n-gram is reduced to a 64-bit FNV-1a hash of its words (a false match needs
/// a hash collision, about n^2 / 2^64 for n n-grams: negligible at benchmark sizes).
/// </summary>
public static class NGrams
{
    /// <summary>Lower-cased words with every punctuation and symbol character removed (Unicode categories P and S).</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                if (word.Length > 0) { words.Add(word.ToString()); word.Clear(); }
                continue;
            }
            var category = char.GetUnicodeCategory(c);
            if (category is >= UnicodeCategory.ConnectorPunctuation and <= UnicodeCategory.OtherPunctuation
                or >= UnicodeCategory.MathSymbol and <= UnicodeCategory.OtherSymbol) continue;
            word.Append(char.ToLowerInvariant(c));
        }
        if (word.Length > 0) words.Add(word.ToString());
        return words;
    }

    /// <summary>The hashes of every run of <paramref name="n"/> consecutive words (none when there are fewer words).</summary>
    public static IEnumerable<ulong> Hashes(IReadOnlyList<string> words, int n)
    {
        for (int i = 0; i + n <= words.Count; i++) yield return Hash(words, i, n);
    }

    /// <summary>FNV-1a 64 over the UTF-16 code units of <paramref name="n"/> words from <paramref name="start"/>, a
    /// separator between words.</summary>
    public static ulong Hash(IReadOnlyList<string> words, int start, int n)
    {
        const ulong offset = 14695981039346656037, prime = 1099511628211;
        ulong h = offset;
        for (int w = start; w < start + n; w++)
        {
            foreach (char c in words[w]) { h = (h ^ c) * prime; }
            h = (h ^ 0x20) * prime;
        }
        return h;
    }
}
