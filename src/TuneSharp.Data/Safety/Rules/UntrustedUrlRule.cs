namespace TuneSharp.Data.Safety;

/// <summary>
/// <c>untrusted_url</c>: a tool call's arguments reach a URL or domain that is neither on the allow-list nor given in the
/// conversation before the call (by the user, the system prompt or an earlier tool result).
/// </summary>
public sealed class UntrustedUrlRule : ISafetyRule
{
    public string Id => "untrusted_url";
    public Severity DefaultSeverity => Severity.Medium;

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options)
    {
        foreach (var call in c.Calls)
        {
            var reported = new HashSet<string>(StringComparer.Ordinal);
            string context = c.TextOf(Conversation.ContextRoles, call.MessageIndex).ToLowerInvariant();
            foreach (var url in UngroundedUrls(call, context, options))
                if (reported.Add(url.Host))
                    yield return Findings.At(c, call.MessageIndex, Id, DefaultSeverity,
                        $"call to '{call.Name}' reaches '{url.Host}', which is not allowed and not given in the conversation",
                        Findings.Call(call, url.Text), $"check the URL; if '{url.Host}' is trusted, allow it (--allow-domain {url.Host})");
        }
    }

    /// <summary>URLs in a call's string arguments whose host is not allowed and that the conversation before the call does
    /// not contain (host or URL, lower-cased <paramref name="context"/>).</summary>
    internal static IEnumerable<UrlMatch> UngroundedUrls(ToolCallView call, string context, ScanOptions options) =>
        call.Values.SelectMany(v => Urls.Find(v.Value))
            .Where(u => !Urls.Allowed(u.Host, options.AllowedDomains) && !context.Contains(u.Host, StringComparison.Ordinal));
}
