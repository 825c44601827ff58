using System.Globalization;
using System.Text.RegularExpressions;
using TuneSharp.Graders.Definitions;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// Pulls the answer number out of a model's text. <c>last</c> / <c>first</c>: the last / first number anywhere
/// (thousands commas and a leading $ allowed, as lm-evaluation-harness's flexible GSM8K extraction); <c>gsm8k</c>: the
/// number after "#### " (lm-evaluation-harness's strict GSM8K match); <c>boxed</c>: the content of the last
/// <c>\boxed{...}</c> (nested braces allowed), read as a number, a/b, or \frac{a}{b}; <c>strict</c>: the whole text must
/// be a number.
/// </summary>
internal static partial class NumberExtractor
{
    public static double? Extract(string text, NumberExtraction how) => how switch
    {
        NumberExtraction.Last => AnyNumber().Matches(text) is { Count: > 0 } all ? ParseLoose(all[^1].Value) : null,
        NumberExtraction.First => AnyNumber().Match(text) is { Success: true } m ? ParseLoose(m.Value) : null,
        NumberExtraction.Gsm8k => Gsm8k().Matches(text) is { Count: > 0 } g ? ParseLoose(g[^1].Groups[1].Value) : null,
        NumberExtraction.Boxed => LastBoxed(text) is { } content ? ParseMath(content) : null,
        NumberExtraction.Strict => ParseLoose(text.Trim()),
        _ => null,
    };

    /// <summary>A number written by a person: commas, $ and % dropped, surrounding spaces ignored.</summary>
    public static double? ParseLoose(string s)
    {
        string cleaned = s.Trim().Replace(",", "", StringComparison.Ordinal).Replace("$", "", StringComparison.Ordinal)
            .TrimEnd('%', '.').Trim();
        return double.TryParse(cleaned, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null;
    }

    static double? ParseMath(string s)
    {
        string t = s.Replace(" ", "", StringComparison.Ordinal).Replace("\\!", "", StringComparison.Ordinal);
        if (Fraction().Match(t) is { Success: true } f)
            return ParseLoose(f.Groups[1].Value) is { } a && ParseLoose(f.Groups[2].Value) is { } b && b != 0 ? a / b : null;
        if (t.Split('/') is [var num, var den] && ParseLoose(num) is { } n && ParseLoose(den) is { } d && d != 0) return n / d;
        return ParseLoose(t);
    }

    static string? LastBoxed(string text)
    {
        int start = text.LastIndexOf("\\boxed{", StringComparison.Ordinal);
        if (start < 0) return null;
        int depth = 0;
        for (int i = start + "\\boxed".Length; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return text[(start + "\\boxed{".Length)..i];
        }
        return null;
    }

    [GeneratedRegex(@"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")]
    private static partial Regex AnyNumber();

    [GeneratedRegex(@"#### (\-?[0-9\.\,]+)")]
    private static partial Regex Gsm8k();

    [GeneratedRegex(@"^-?\\d?frac\{([^{}]+)\}\{([^{}]+)\}$")]
    private static partial Regex Fraction();
}
