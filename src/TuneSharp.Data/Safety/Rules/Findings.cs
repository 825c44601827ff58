namespace TuneSharp.Data.Safety;

/// <summary>Building findings the same way in every rule.</summary>
internal static class Findings
{
    public static SafetyFinding At(Conversation c, int? message, string rule, Severity severity, string text, string excerpt, string hint) =>
        new(c.Example.Source, message, rule, severity, text, excerpt, hint);

    /// <summary>An excerpt of a call: <c>name({arguments})</c> around the character range of the arguments' JSON.</summary>
    public static string Call(ToolCallView call, string? around = null)
    {
        string text = call.Text;
        int at = around is null ? -1 : text.IndexOf(around, StringComparison.Ordinal);
        return at < 0 ? Excerpt.Start(text) : Excerpt.Around(text, at, around!.Length);
    }
}
