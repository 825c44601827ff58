using System.Text.RegularExpressions;

namespace TuneSharp.Data.Safety;

/// <summary>
/// <c>code_injection</c>: script or shell code in a tool call's arguments that loads or runs code: a <c>&lt;script&gt;</c>
/// element or a script element built in JavaScript, <c>eval(</c> / <c>new Function(</c>, <c>javascript:</c> URLs, HTML event
/// handlers, downloads piped to an interpreter (<c>curl … | sh</c>, <c>wget … | bash</c>), <c>base64 -d | sh</c>, PowerShell
/// encoded commands and download cradles, reverse shells.
/// </summary>
public sealed partial class CodeInjectionRule : ISafetyRule
{
    public string Id => "code_injection";
    public Severity DefaultSeverity => Severity.High;

    static readonly (Regex Pattern, string What)[] Patterns =
    [
        (ScriptTag(), "a <script> element"),
        (ScriptElement(), "a script element created in JavaScript"),
        (Eval(), "eval / new Function"),
        (JavaScriptUrl(), "a javascript: URL"),
        (EventHandler(), "an HTML event handler"),
        (PipeToShell(), "a download piped to an interpreter"),
        (Base64Shell(), "base64-decoded code piped to a shell"),
        (PowerShell(), "an encoded or downloaded PowerShell command"),
        (ReverseShell(), "a reverse shell"),
    ];

    public IEnumerable<SafetyFinding> Check(Conversation c, ScanOptions options)
    {
        foreach (var call in c.Calls)
            foreach (var (_, value) in call.Values)
                foreach (var (pattern, what) in Patterns)
                    if (pattern.Match(value) is { Success: true } m)
                    {
                        yield return Findings.At(c, call.MessageIndex, Id, DefaultSeverity, $"call to '{call.Name}' carries {what}",
                            Excerpt.Around(value, m.Index, m.Length),
                            "remove the example: a model trained on it learns to run attacker code through its tools");
                        break;
                    }
    }

    [GeneratedRegex(@"(?i)<\s*script\b")]
    private static partial Regex ScriptTag();
    [GeneratedRegex(@"(?i)createElement\s*\(\s*[""'`]script[""'`]\s*\)|\.src\s*=\s*[""'`]?(?:https?:)?//")]
    private static partial Regex ScriptElement();
    [GeneratedRegex(@"(?<![\w.])(?:eval|new\s+Function|setTimeout\s*\(\s*[""'`]|execScript)\s*\(")]
    private static partial Regex Eval();
    [GeneratedRegex(@"(?i)\bjavascript\s*:(?!\s*$)")]
    private static partial Regex JavaScriptUrl();
    [GeneratedRegex(@"(?i)<[a-z]+\b[^>]*\bon(?:error|load|click|mouseover|focus)\s*=")]
    private static partial Regex EventHandler();
    [GeneratedRegex(@"(?i)\b(?:curl|wget|fetch|iwr|invoke-webrequest)\b[^|\n;]*\|\s*(?:sudo\s+)?(?:ba|z|k|da|c)?sh\b|\b(?:curl|wget)\b[^|\n;]*\|\s*(?:sudo\s+)?(?:python\d?|perl|ruby|node|php)\b|\b(?:ba)?sh\s+-c\s+[""']?\$\((?:curl|wget)")]
    private static partial Regex PipeToShell();
    [GeneratedRegex(@"(?i)base64\s+(?:-d|--decode|-D)\b[^\n]*\|\s*(?:sudo\s+)?(?:ba|z|k|da)?sh\b|\|\s*base64\s+(?:-d|--decode)\s*\|\s*(?:ba)?sh\b")]
    private static partial Regex Base64Shell();
    [GeneratedRegex(@"(?i)\bpowershell(?:\.exe)?\b[^\n]*\s-(?:e|en|enc|enco|encodedcommand)\s+[A-Za-z0-9+/=]{8,}|\b(?:iex|invoke-expression)\b\s*\(?.*downloadstring|downloadstring\s*\(|\bfrombase64string\s*\(")]
    private static partial Regex PowerShell();
    [GeneratedRegex(@"(?i)/dev/tcp/|\bnc(?:at)?\s+(?:-\w+\s+)*-e\s+/bin/(?:ba)?sh|\bbash\s+-i\s+>&")]
    private static partial Regex ReverseShell();
}
