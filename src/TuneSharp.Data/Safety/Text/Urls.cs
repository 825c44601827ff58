using System.Text.RegularExpressions;

namespace TuneSharp.Data.Safety;

/// <summary>A URL or bare domain found in text: the matched text, its host (lower case) and where it is.</summary>
public readonly record struct UrlMatch(string Text, string Host, int Start, int Length);

/// <summary>URLs (<c>scheme://</c>, protocol-relative <c>//host/</c>) and bare domains (<c>evil.example.com/x</c>, common
/// top-level domains only, so <c>file.txt</c> or <c>os.system</c> are not domains), and the allow-list match.</summary>
public static partial class Urls
{
    public static IReadOnlyList<UrlMatch> Find(string text)
    {
        var found = new List<UrlMatch>();
        foreach (Match m in Url().Matches(text))
            found.Add(new UrlMatch(m.Value, m.Groups["host"].Value.ToLowerInvariant(), m.Index, m.Length));
        foreach (Match m in Domain().Matches(text))
            if (!found.Any(f => m.Index < f.Start + f.Length && f.Start < m.Index + m.Length))
                found.Add(new UrlMatch(m.Value, m.Groups["host"].Value.ToLowerInvariant(), m.Index, m.Length));
        return found;
    }

    /// <summary>True when <paramref name="host"/> is an allowed domain or a subdomain of one.</summary>
    public static bool Allowed(string host, IEnumerable<string> allowList) =>
        allowList.Any(d => host == d || host.EndsWith("." + d, StringComparison.Ordinal));

    /// <summary>Percent-decoding (twice, for double encoding) with <c>+</c> as space; invalid escapes are left as they are.</summary>
    public static string Decode(string s)
    {
        for (int i = 0; i < 2 && s.Contains('%'); i++)
        {
            try { s = Uri.UnescapeDataString(s.Replace('+', ' ')); }
            catch (UriFormatException) { break; }
        }
        return s.Replace('+', ' ');
    }

    [GeneratedRegex(@"(?i)(?:\b(?:https?|wss?|ftp)://|(?<=[""'=(\s])//)(?:[^\s/@""'<>]+@)?(?<host>[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*)(?::\d+)?(?:[/?#][^\s""'<>`\\]*)?")]
    private static partial Regex Url();

    [GeneratedRegex(@"(?i)(?<![@\w.\-/])(?<host>(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|co|ru|cn|info|biz|xyz|top|site|online|app|dev|me|us|uk|de|fr|ai|tk|ml|ga|cf|gq|pw|cc|tv|ly|gl|link|click|club|shop|store|live|tech|cloud|pro|eu|in|jp|br|au|ca|nl|su|ws|to|sh|gg|icu|vip|win|bid|host|website|space|fun|pw))\b(?![\w\-@])(?::\d+)?(?:/[^\s""'<>`\\]*)?")]
    private static partial Regex Domain();
}
