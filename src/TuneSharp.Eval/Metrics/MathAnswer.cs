using System.Text.RegularExpressions;

namespace TuneSharp.Eval.Metrics;

/// <summary>
/// MATH answers as lm-evaluation-harness's minerva_math: the gold answer is the last <c>\boxed{..}</c> of the reference
/// solution; a response's answer is what follows "Final Answer: The final answer is" up to ". I hope it is correct.";
/// both go through Minerva's normalize_final_answer (Lewkowycz et al. 2022, appendix D). The harness then compares with
/// sympy; TuneSharp compares the normalised strings (equal strings are equivalent, so this never over-counts).
/// </summary>
public static partial class MathAnswer
{
    public const string Invalid = "[invalidanswer]";

    /// <summary>The last \boxed{...} (or \fbox{...}, or "\boxed x") with balanced braces, or null.</summary>
    public static string? LastBoxed(string s)
    {
        int idx = s.LastIndexOf("\\boxed", StringComparison.Ordinal);
        if (s.Contains("\\boxed ", StringComparison.Ordinal))
            return "\\boxed " + s.Split("\\boxed ")[^1].Split('$')[0];
        if (idx < 0)
        {
            idx = s.LastIndexOf("\\fbox", StringComparison.Ordinal);
            if (idx < 0) return null;
        }
        int open = 0;
        for (int i = idx; i < s.Length; i++)
        {
            if (s[i] == '{') open++;
            if (s[i] == '}' && --open == 0) return s[idx..(i + 1)];
        }
        return null;
    }

    /// <summary>The content of a \boxed{..} or "\boxed x" string; null when it is not one.</summary>
    public static string? RemoveBoxed(string? s)
    {
        if (s is null) return null;
        if (s.StartsWith("\\boxed ", StringComparison.Ordinal)) return s["\\boxed ".Length..];
        return s.StartsWith("\\boxed{", StringComparison.Ordinal) && s.EndsWith('}') ? s["\\boxed{".Length..^1] : null;
    }

    /// <summary>The text between "Final Answer: The final answer is" and ". I hope it is correct." (trimmed), or [invalidanswer].</summary>
    public static string FinalAnswer(string response)
    {
        var m = FinalAnswerPattern().Match(response + "I hope it is correct.");
        return m.Success ? m.Groups[1].Value.Trim() : Invalid;
    }

    static readonly (string Before, string After)[] Substitutions =
    [
        ("an ", ""), ("a ", ""), (".$", "$"), ("\\$", ""), ("\\ ", ""), (" ", ""), ("mbox", "text"),
        (",\\text{and}", ","), ("\\text{and}", ","), ("\\text{m}", "\\text{}"),
    ];

    static readonly string[] Removed =
    [
        "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots", "sue", "points",
        "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters", "meals", "edges", "students",
        "childrentickets", "multiples", "\\text{s}", "\\text{.}", "\\text{\ns}", "\\text{}^2", "\\text{}^3", "\\text{\n}",
        "\\text{}", "\\mathrm{th}", "^\\circ", "^{\\circ}", "\\;", ",\\!", "{,}", "\"", "\\dots",
    ];

    /// <summary>Minerva's normalize_final_answer.</summary>
    public static string Normalize(string answer)
    {
        answer = answer.Split('=')[^1];
        foreach (var (before, after) in Substitutions) answer = answer.Replace(before, after);
        foreach (var r in Removed) answer = answer.Replace(r, "");
        answer = Regex.Replace(answer, @"(.*?)(\$)(.*?)(\$)(.*)", "$$$3$$");
        answer = Regex.Replace(answer, @"(\\text\{)(.*?)(\})", "$2");
        answer = Regex.Replace(answer, @"(\\textbf\{)(.*?)(\})", "$2");
        answer = Regex.Replace(answer, @"(\\overline\{)(.*?)(\})", "$2");
        answer = Regex.Replace(answer, @"(\\boxed\{)(.*)(\})", "$2");
        answer = Regex.Replace(answer, @"(frac)([^{])(.)", "frac{$2}{$3}");
        answer = Regex.Replace(answer, @"(sqrt)([^{])", "sqrt{$2}");
        answer = answer.Replace("$", "");
        string noCommas = answer.Replace(",", "");
        if (noCommas.Length > 0 && noCommas.All(char.IsDigit)) answer = noCommas;
        return answer;
    }

    /// <summary>The normalised gold answer of a reference solution (its last \boxed{}).</summary>
    public static string Gold(string solution) =>
        Normalize(RemoveBoxed(LastBoxed(solution)) ?? throw new InvalidDataException("the solution has no \\boxed{} answer"));

    [GeneratedRegex(@"Final Answer: The final answer is(.*?). I hope it is correct.")]
    private static partial Regex FinalAnswerPattern();
}
