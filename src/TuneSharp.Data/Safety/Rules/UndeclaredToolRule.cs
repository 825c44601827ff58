namespace TuneSharp.Data.Safety;

/// <summary><c>undeclared_tool</c>: a call to a tool the example's <c>tools</c> do not declare (medium when it declares none).</summary>
public sealed class UndeclaredToolRule : ISafetyRule
{
    public string Id => "undeclared_tool";
    public Severity DefaultSeverity => Severity.High;

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options)
    {
        foreach (var call in c.Calls)
        {
            if (c.Tools is null)
                yield return Findings.At(c, call.MessageIndex, Id, Severity.Medium, $"call to '{call.Name}' but the example declares no tools",
                    Findings.Call(call), "add the example's 'tools' so every call can be checked against them");
            else if (!c.Tools.ContainsKey(call.Name))
                yield return Findings.At(c, call.MessageIndex, Id, DefaultSeverity,
                    $"call to '{call.Name}', which the example's tools do not declare ({(c.Tools.Count == 0 ? "none" : string.Join(", ", c.Tools.Keys))})",
                    Findings.Call(call), "remove the call or the example: a model trained on it learns to call tools it was never given");
        }
    }
}
