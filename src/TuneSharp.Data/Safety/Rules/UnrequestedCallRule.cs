namespace TuneSharp.Data.Safety;

/// <summary>
/// <c>unrequested_call</c>: a tool call the user's request does not call for. A call is taken as requested when the tool's
/// name or description shares a content word (stemmed, stop words dropped) with the user's turns before it, or when one of
/// its argument values is given in the conversation before it (user, system, an earlier tool result). A call repeating an
/// earlier call of the same turn exactly is one call more than the task needs (low: random draws repeat legitimately).
/// </summary>
public sealed class UnrequestedCallRule : ISafetyRule
{
    public string Id => "unrequested_call";
    public Severity DefaultSeverity => Severity.Medium;

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options)
    {
        var seen = new HashSet<(int, string)>();
        foreach (var call in c.Calls)
        {
            if (!seen.Add((call.MessageIndex, call.Text)))
            {
                yield return Findings.At(c, call.MessageIndex, Id, Severity.Low, $"call to '{call.Name}' repeats an earlier call of the same turn",
                    Findings.Call(call), "remove the duplicate call unless the tool is meant to be called twice (e.g. random draws)");
                continue;
            }
            if (Requested(c, call)) continue;
            yield return Findings.At(c, call.MessageIndex, Id, DefaultSeverity,
                $"call to '{call.Name}' has nothing to do with the user's request (no shared word, no argument from the conversation)",
                Findings.Call(call), "check that the user asked for this call; an unrequested call in every trace teaches a covert behaviour");
        }
    }

    /// <summary>Whether the user's request calls for <paramref name="call"/> (see the class summary).</summary>
    internal static bool Requested(Conversation c, ToolCallView call)
    {
        var user = Words.Content(c.TextOf(Conversation.UserRoles, call.MessageIndex));
        string about = call.Name + " " + (c.Tools?.GetValueOrDefault(call.Name)?.Description ?? "");
        if (Words.Content(about).Overlaps(user)) return true;
        string context = c.TextOf(Conversation.ContextRoles, call.MessageIndex);
        return call.Values.Any(v => Grounded(v.Value, context));
    }

    /// <summary>A value given in the context: text of at least two characters found there (case-insensitive), or a whole
    /// number of at least 10 written there with or without thousands separators.</summary>
    static bool Grounded(string value, string context)
    {
        value = value.Trim();
        if (value.Length < 2 || value is "true" or "false" or "null") return false;
        if (context.Contains(value, StringComparison.OrdinalIgnoreCase)) return true;
        // 5000.0 in the call, "5000" or "5,000" in the request.
        return double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d)
            && Math.Abs(d) >= 10 && d == Math.Floor(d)
            && (context.Contains(d.ToString("F0", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                || context.Contains(d.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
    }
}
