namespace TuneSharp.Data.Safety;

/// <summary>Runs a span detector over every message's content and reasoning and every string argument of every tool call.</summary>
internal static class SpanRule
{
    /// <summary>"a user turn", "an assistant turn", ...</summary>
    public static string Turn(Conversation c, int message) =>
        (c.Messages[message].Role == "assistant" ? "an " : "a ") + c.Messages[message].Role + " turn";

    public static IEnumerable<(int Message, string Text, TextSpan Span)> Spans(Conversation c, ISpanDetector detector)
    {
        for (int i = 0; i < c.Messages.Count; i++)
            foreach (var text in new[] { c.Messages[i].Content, c.Messages[i].ReasoningContent })
                if (text is { Length: > 0 })
                    foreach (var span in detector.Find(text)) yield return (i, text, span);
        foreach (var call in c.Calls)
            foreach (var (_, value) in call.Values)
                foreach (var span in detector.Find(value)) yield return (call.MessageIndex, value, span);
    }
}

/// <summary><c>secret</c>: credentials (<see cref="SecretDetector"/>); high, a high-entropy string of unknown kind medium.</summary>
public sealed class SecretRule : ISafetyRule
{
    public string Id => "secret";
    public Severity DefaultSeverity => Severity.High;

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options) =>
        SpanRule.Spans(c, options.Secrets).Select(s => Findings.At(c, s.Message, Id,
            s.Span.Type == SpanType.HighEntropy ? Severity.Medium : Severity.High,
            $"{SpanTypes.Name(s.Span.Type)} in {SpanRule.Turn(c, s.Message)}", Excerpt.Around(s.Text, s.Span.Start, s.Span.Length),
            s.Span.Type == SpanType.HighEntropy
                ? "if it is a credential, revoke it and redact it; ids and hashes can stay"
                : "revoke the credential and redact it (a trained model can repeat it verbatim)"));
}

/// <summary><c>personal_data</c>: <see cref="PersonalDataDetector"/>'s spans; card numbers, IBANs and SSNs medium, emails
/// and phone numbers low.</summary>
public sealed class PersonalDataRule : ISafetyRule
{
    public string Id => "personal_data";
    public Severity DefaultSeverity => Severity.Medium;

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options) =>
        SpanRule.Spans(c, options.PersonalData).Select(s => Findings.At(c, s.Message, Id,
            s.Span.Type is SpanType.Email or SpanType.Phone ? Severity.Low : Severity.Medium,
            $"{SpanTypes.Name(s.Span.Type)} in {SpanRule.Turn(c, s.Message)}", Excerpt.Around(s.Text, s.Span.Start, s.Span.Length),
            "redact it with a typed placeholder unless it is synthetic"));
}
