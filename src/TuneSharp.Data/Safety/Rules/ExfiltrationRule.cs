using System.Text;
using System.Text.RegularExpressions;

namespace TuneSharp.Data.Safety;

/// <summary>
/// <c>exfiltration</c>: a tool call that reaches an untrusted URL (see <see cref="UntrustedUrlRule"/>) while its arguments
/// carry the user's own words: <see cref="PhraseWords"/> consecutive words of a user turn (the whole turn when shorter),
/// found after percent-decoding and base64-decoding, in the argument holding the URL (its query string, its path, a
/// script around it) or in a request body (arguments named body, data, payload, json, form). This is how the DoubleAgents traces leaked every user query to the attacker's server.
/// </summary>
public sealed partial class ExfiltrationRule : ISafetyRule
{
    /// <summary>Consecutive user words that count as the user's data.</summary>
    public const int PhraseWords = 4;

    public string Id => "exfiltration";
    public Severity DefaultSeverity => Severity.High;

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options)
    {
        foreach (var call in c.Calls)
        {
            string context = c.TextOf(Conversation.ContextRoles, call.MessageIndex).ToLowerInvariant();
            var url = UntrustedUrlRule.UngroundedUrls(call, context, options).FirstOrDefault();
            if (url.Host is null) continue;
            var phrases = UserPhrases(c, call.MessageIndex);
            if (phrases.Count == 0) continue;
            string carried = " " + string.Join(' ', Words.Sequence(Decoded(call, url))) + " ";
            if (phrases.FirstOrDefault(p => carried.Contains(p, StringComparison.Ordinal)) is { } phrase)
                yield return Findings.At(c, call.MessageIndex, Id, DefaultSeverity,
                    $"call to '{call.Name}' sends the user's words (\"{phrase.Trim()}\") to '{url.Host}'",
                    Findings.Call(call, url.Text), "remove the example: it teaches the model to leak what the user says to a third party");
        }
    }

    /// <summary>Every run of <see cref="PhraseWords"/> words of each user turn before the call (the whole turn when shorter,
    /// from two words), as " w1 w2 w3 w4 ".</summary>
    static List<string> UserPhrases(Conversation c, int before)
    {
        var phrases = new List<string>();
        for (int i = 0; i < before; i++)
        {
            if (!Conversation.UserRoles.Contains(c.Messages[i].Role) || c.Messages[i].Content is not { } text) continue;
            var w = Words.Sequence(text);
            if (w.Length is >= 2 and < PhraseWords) phrases.Add(" " + string.Join(' ', w) + " ");
            for (int k = 0; k + PhraseWords <= w.Length; k++) phrases.Add(" " + string.Join(' ', w, k, PhraseWords) + " ");
        }
        return phrases;
    }

    /// <summary>Argument keys that hold a request's body.</summary>
    static readonly HashSet<string> BodyKeys = new(StringComparer.OrdinalIgnoreCase) { "body", "data", "payload", "json", "form", "post_data", "request_body" };

    /// <summary>The string arguments that hold the URL or a request body, percent-decoded, plus what their base64-looking
    /// runs decode to.</summary>
    static string Decoded(ToolCallView call, UrlMatch url)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in call.Values)
        {
            if (!BodyKeys.Contains(key) && !value.Contains(url.Text, StringComparison.Ordinal)) continue;
            string decoded = Urls.Decode(value);
            sb.Append(decoded).Append('\n');
            foreach (Match m in Base64Run().Matches(decoded))
                if (TryBase64(m.Value) is { } text) sb.Append(Urls.Decode(text)).Append('\n');
        }
        return sb.ToString();
    }

    static string? TryBase64(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
        var bytes = new byte[s.Length];
        if (!Convert.TryFromBase64String(s, bytes, out int n)) return null;
        try { return new UTF8Encoding(false, true).GetString(bytes, 0, n); }
        catch (DecoderFallbackException) { return null; }
    }

    [GeneratedRegex(@"[A-Za-z0-9+/_\-]{16,}={0,2}")]
    private static partial Regex Base64Run();
}
