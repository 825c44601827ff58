using System.Text.RegularExpressions;

namespace TuneSharp.Eval.Metrics;

/// <summary>
/// lm-evaluation-harness's answer filters and exact_match. <see cref="RegexFilter"/> is its <c>regex</c> filter followed by
/// <c>take_first</c>: all matches of the pattern, the one at <c>groupSelect</c> (negative counts from the end); with
/// several groups the first non-empty group; no match gives the fallback "[invalid]".
/// </summary>
public static class AnswerFilters
{
    public const string Invalid = "[invalid]";

    public static string RegexFilter(string response, Regex pattern, int groupSelect = 0, string fallback = Invalid)
    {
        var matches = pattern.Matches(response);
        if (matches.Count == 0) return fallback;
        int index = groupSelect < 0 ? matches.Count + groupSelect : groupSelect;
        if (index < 0 || index >= matches.Count) return fallback;
        var m = matches[index];
        if (m.Groups.Count == 1) return m.Value.Trim();        // no groups: the whole match (Python's findall)
        if (m.Groups.Count == 2) return m.Groups[1].Value.Trim(); // one group: that group
        for (int g = 1; g < m.Groups.Count; g++)
            if (m.Groups[g].Value.Length > 0) return m.Groups[g].Value.Trim();
        return fallback;
    }

    /// <summary>GSM8K strict-match: the number after "#### ".</summary>
    public static readonly Regex Gsm8kStrict = new(@"#### (\-?[0-9\.\,]+)", RegexOptions.CultureInvariant);

    /// <summary>GSM8K flexible-extract: the last number-like run in the response (group_select -1).</summary>
    public static readonly Regex Gsm8kFlexible = new(@"(-?[$0-9.,]{2,})|(-?[0-9]+)", RegexOptions.CultureInvariant);

    /// <summary>
    /// The harness's exact_match (HF evaluate's): both strings with each regex in <paramref name="regexesToIgnore"/>
    /// removed, optionally lower-cased, compared for equality. 1 or 0.
    /// </summary>
    public static double ExactMatch(string prediction, string reference, IReadOnlyList<Regex> regexesToIgnore, bool ignoreCase)
    {
        foreach (var r in regexesToIgnore)
        {
            prediction = r.Replace(prediction, "");
            reference = r.Replace(reference, "");
        }
        if (ignoreCase)
        {
            prediction = prediction.ToLowerInvariant();
            reference = reference.ToLowerInvariant();
        }
        return prediction == reference ? 1 : 0;
    }

    /// <summary>GSM8K's regexes_to_ignore: ",", "\$", "(?s).*#### ", "\.$".</summary>
    public static readonly IReadOnlyList<Regex> Gsm8kIgnore =
    [
        new(",", RegexOptions.CultureInvariant),
        new(@"\$", RegexOptions.CultureInvariant),
        new(@"(?s).*#### ", RegexOptions.CultureInvariant),
        new(@"\.$", RegexOptions.CultureInvariant),
    ];
}
