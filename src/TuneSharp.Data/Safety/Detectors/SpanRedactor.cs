namespace TuneSharp.Data.Safety;

/// <summary>Replaces detected spans by their typed placeholders (<see cref="TextSpan.Placeholder"/>).</summary>
public static class SpanRedactor
{
    /// <summary>Non-overlapping spans, left to right: of overlapping spans the earlier (then the longer) wins.</summary>
    public static IReadOnlyList<TextSpan> Resolve(IEnumerable<TextSpan> spans)
    {
        var result = new List<TextSpan>();
        foreach (var s in spans.OrderBy(s => s.Start).ThenByDescending(s => s.Length))
            if (result.Count == 0 || s.Start >= result[^1].End) result.Add(s);
        return result;
    }

    /// <summary><paramref name="text"/> with every span of <paramref name="spans"/> replaced by <paramref name="replace"/>
    /// (default: the typed placeholder).</summary>
    public static string Redact(string text, IEnumerable<TextSpan> spans, Func<TextSpan, string, string>? replace = null)
    {
        replace ??= (span, _) => span.Placeholder;
        var sb = new System.Text.StringBuilder(text.Length);
        int at = 0;
        foreach (var s in Resolve(spans))
        {
            sb.Append(text, at, s.Start - at).Append(replace(s, text.Substring(s.Start, s.Length)));
            at = s.End;
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }

    /// <summary>A secret shown in a report: its first four characters, then asterisks (<c>AKIA****************</c>).</summary>
    public static string Mask(string secret) =>
        secret.Length <= 4 ? new string('*', secret.Length) : secret[..4] + new string('*', Math.Min(16, secret.Length - 4));
}
