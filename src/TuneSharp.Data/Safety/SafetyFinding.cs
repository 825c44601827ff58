namespace TuneSharp.Data.Safety;

/// <summary>How serious a finding is. A scan or a training run can stop at a level (<c>--fail-on</c>, <c>data.safety_fail_on</c>).</summary>
public enum Severity { Low, Medium, High }

/// <summary>
/// One finding: where (file:line and the message's index in <see cref="Conversation"/> order; null for the whole example),
/// which rule, how serious, what (message), the text it is about (excerpt, secrets masked) and what to do (hint).
/// </summary>
public sealed record SafetyFinding(SourceLocation Source, int? MessageIndex, string Rule, Severity Severity, string Message,
    string Excerpt, string Hint)
{
    public override string ToString() =>
        $"{Source}: msg {(MessageIndex is int i ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")}: {Rule} " +
        $"[{SeverityNames.Of(Severity)}]: {Message}: \"{Excerpt}\". {Hint}";
}

/// <summary>The spelling of severities in options, configs and reports: low, medium, high.</summary>
public static class SeverityNames
{
    public static string Of(Severity s) => s switch { Severity.Low => "low", Severity.Medium => "medium", _ => "high" };

    public static bool TryParse(string text, out Severity severity)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "low": severity = Severity.Low; return true;
            case "medium": severity = Severity.Medium; return true;
            case "high": severity = Severity.High; return true;
            default: severity = default; return false;
        }
    }
}
