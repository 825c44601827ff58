using System.Text;

namespace TuneSharp.Data.Safety;

/// <summary>Lower-cased word tokens for the relevance checks: identifiers split at <c>_</c>, <c>-</c>, <c>.</c> and case changes.</summary>
internal static class Words
{
    static readonly HashSet<string> Stop = new(StringComparer.Ordinal)
    {
        "the", "and", "for", "with", "that", "this", "from", "you", "your", "are", "can", "will", "have", "has", "was", "what",
        "which", "when", "where", "who", "how", "please", "want", "need", "would", "could", "should", "about", "into", "like",
        "get", "give", "tell", "help", "me", "my", "some", "any", "all", "also", "just", "know", "there", "their", "them", "then",
        "than", "its", "it's", "i'm", "let", "make", "use", "using", "used", "based", "given", "specified", "specific", "provided",
        "information", "details", "data", "function", "tool", "api", "value", "type", "name", "string", "number", "object", "list",
        "new", "one", "two", "not", "but", "yes", "thanks", "thank", "hi", "hello", "okay", "sure", "great", "good",
    };

    /// <summary>Words of at least three letters, split inside identifiers (<c>getWeatherNow</c>, <c>get_weather</c>).</summary>
    public static IEnumerable<string> Tokens(string text)
    {
        var sb = new StringBuilder();
        char prev = '\0';
        foreach (char c in text)
        {
            bool boundary = !char.IsLetterOrDigit(c) || char.IsUpper(c) && char.IsLower(prev);
            if (boundary && sb.Length > 0)
            {
                yield return sb.ToString();
                sb.Clear();
            }
            if (char.IsLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
            prev = c;
        }
        if (sb.Length > 0) yield return sb.ToString();
    }

    /// <summary>Stemmed content words (stop words, numbers and words under three letters dropped).</summary>
    public static HashSet<string> Content(string text) =>
        Tokens(text).Where(w => w.Length >= 3 && !Stop.Contains(w) && !w.All(char.IsAsciiDigit)).Select(Stem).ToHashSet(StringComparer.Ordinal);

    /// <summary>A light suffix stripper (plural, -ing, -ed, -er, -ion, -ly), so <c>converting</c> meets <c>convert</c>.</summary>
    public static string Stem(string w)
    {
        foreach (var suffix in new[] { "ations", "ation", "ings", "ing", "ions", "ion", "ers", "ies", "er", "ed", "es", "ly", "s" })
            if (w.Length - suffix.Length >= 3 && w.EndsWith(suffix, StringComparison.Ordinal))
                return w[..^suffix.Length];
        return w;
    }

    /// <summary>Lower-cased alphanumeric words in order (no stemming), for phrase matching.</summary>
    public static string[] Sequence(string text) => [.. Tokens(text)];
}
