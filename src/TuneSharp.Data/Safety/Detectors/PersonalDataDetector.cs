using System.Text.RegularExpressions;

namespace TuneSharp.Data.Safety;

/// <summary>
/// Personal data in text: email addresses, phone numbers (international <c>+CC ...</c> or North American
/// <c>(555) 123-4567</c> shapes, 10 to 15 digits), payment card numbers (13-19 digits, a known issuer prefix and a valid
/// Luhn check), IBANs (valid mod-97 check) and US social security numbers (<c>AAA-GG-SSSS</c> with dashes, excluding the
/// never-issued 000, 666 and 9xx areas).
/// </summary>
public sealed partial class PersonalDataDetector : ISpanDetector
{
    public IReadOnlyList<TextSpan> Find(string text)
    {
        var spans = new List<TextSpan>();
        foreach (Match m in Email().Matches(text)) spans.Add(new TextSpan(SpanType.Email, m.Index, m.Length));
        foreach (Match m in Card().Matches(text))
        {
            string digits = new([.. m.Value.Where(char.IsAsciiDigit)]);
            if (digits.Length is >= 13 and <= 19 && KnownIssuer(digits) && Checksums.Luhn(digits))
                spans.Add(new TextSpan(SpanType.CreditCard, m.Index, m.Length));
        }
        foreach (Match m in Iban().Matches(text))
            if (Checksums.IbanMod97(m.Value.Replace(" ", "")))
                spans.Add(new TextSpan(SpanType.Iban, m.Index, m.Length));
        foreach (Match m in Ssn().Matches(text)) spans.Add(new TextSpan(SpanType.UsSsn, m.Index, m.Length));
        foreach (Match m in Phone().Matches(text))
        {
            int digits = m.Value.Count(char.IsAsciiDigit);
            if (digits is >= 10 and <= 15) spans.Add(new TextSpan(SpanType.Phone, m.Index, m.Length));
        }
        return SpanRedactor.Resolve(spans);
    }

    /// <summary>Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover 6011/65, Diners 36/38, JCB 35.</summary>
    static bool KnownIssuer(string d) =>
        d[0] == '4' || d[0] == '5' && d[1] is >= '1' and <= '5' || d[0] == '2' && int.Parse(d[..4]) is >= 2221 and <= 2720
        || d[0] == '3' && d[1] is '4' or '5' or '6' or '7' or '8' || d.StartsWith("6011", StringComparison.Ordinal) || d.StartsWith("65", StringComparison.Ordinal);

    [GeneratedRegex(@"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")]
    private static partial Regex Email();
    [GeneratedRegex(@"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])")]
    private static partial Regex Card();
    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")]
    private static partial Regex Iban();
    [GeneratedRegex(@"(?<![\d\-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d\-])")]
    private static partial Regex Ssn();
    [GeneratedRegex(@"(?<![\w+\-])(?:\+\d{1,3}[ .\-]?\(?\d{1,4}\)?(?:[ .\-]?\d{2,4}){2,4}|\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4})(?![\w\-])")]
    private static partial Regex Phone();
}
