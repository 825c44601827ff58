using System.Text.RegularExpressions;

namespace TuneSharp.Data.Safety;

/// <summary>
/// Credentials in text: cloud keys (AWS, GCP, Azure), VCS and service tokens (GitHub, GitLab, Slack, OpenAI, Hugging
/// Face), PEM private key blocks, JWTs, and high-entropy strings (see <see cref="MinEntropy"/>). Patterns follow the
/// providers' documented token formats (as gitleaks' and detect-secrets' rules do).
/// </summary>
public sealed partial class SecretDetector : ISpanDetector
{
    /// <summary>Default threshold of the high-entropy check, in bits per character (documented in docs/safety.md).</summary>
    public const double DefaultMinEntropy = 4.2;
    /// <summary>Default shortest string the high-entropy check considers.</summary>
    public const int DefaultMinEntropyLength = 24;

    /// <summary>A run of base64/hex-like characters is a secret when its Shannon entropy reaches this (bits/char); 0 turns
    /// the check off. Hex digests top out at 4.0, so they never count; nor do runs inside URLs, ids with a known prefix
    /// (<c>call_</c>, <c>chatcmpl-</c>, ...) and base64 that decodes to readable text.</summary>
    public double MinEntropy { get; init; } = DefaultMinEntropy;
    public int MinEntropyLength { get; init; } = DefaultMinEntropyLength;
    /// <summary>Longer runs are encoded files (images, archives), not credentials.</summary>
    public int MaxEntropyLength { get; init; } = 256;

    static readonly (Regex Pattern, SpanType Type)[] Patterns =
    [
        (PrivateKeyBlock(), SpanType.PrivateKey),
        (AwsAccessKey(), SpanType.AwsAccessKey),
        (AwsSecretKey(), SpanType.AwsSecretKey),
        (GcpApiKey(), SpanType.GcpApiKey),
        (GcpServiceAccount(), SpanType.GcpServiceAccountKey),
        (AzureAccountKey(), SpanType.AzureKey),
        (AzureClientSecret(), SpanType.AzureKey),
        (GitHubToken(), SpanType.GitHubToken),
        (GitLabToken(), SpanType.GitLabToken),
        (SlackToken(), SpanType.SlackToken),
        (SlackWebhook(), SpanType.SlackToken),
        (OpenAiKey(), SpanType.OpenAiKey),
        (HuggingFaceToken(), SpanType.HuggingFaceToken),
        (Jwt(), SpanType.Jwt),
    ];

    public IReadOnlyList<TextSpan> Find(string text)
    {
        var spans = new List<TextSpan>();
        foreach (var (pattern, type) in Patterns)
            foreach (Match m in pattern.Matches(text))
            {
                var g = m.Groups["s"].Success ? m.Groups["s"] : m.Groups[0];
                spans.Add(new TextSpan(type, g.Index, g.Length));
            }
        if (MinEntropy > 0)
        {
            IReadOnlyList<UrlMatch>? urls = null; // found only when a candidate needs them (the URL patterns are the slow part)
            foreach (Match m in Token().Matches(text))
            {
                if (m.Length < MinEntropyLength || m.Length > MaxEntropyLength || EmbeddedData(text, m.Index)
                    || spans.Any(s => s.Start < m.Index + m.Length && m.Index < s.End)) continue;
                if (IsId(m.ValueSpan) || !LooksRandom(m.ValueSpan) || Checksums.Entropy(m.ValueSpan) < MinEntropy || EncodedText(m.Value)) continue;
                urls ??= Urls.Find(text);
                if (!urls.Any(u => m.Index >= u.Start && m.Index < u.Start + u.Length))
                    spans.Add(new TextSpan(SpanType.HighEntropy, m.Index, m.Length));
            }
        }
        return SpanRedactor.Resolve(spans);
    }

    /// <summary>Prefixes of random ids that are not credentials (OpenAI/Anthropic call, message and object ids).</summary>
    static readonly string[] IdPrefixes = ["call_", "chatcmpl-", "toolu_", "msg_", "req_", "run_", "asst_", "thread_", "file-", "org-", "resp_"];

    static bool IsId(ReadOnlySpan<char> token)
    {
        foreach (var p in IdPrefixes)
            if (token.StartsWith(p, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>Base64 of readable text (an encoded sentence or script) is not a key: keys are random bytes.</summary>
    static bool EncodedText(string token)
    {
        string s = token.TrimEnd('=').Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
        var bytes = new byte[s.Length];
        if (!Convert.TryFromBase64String(s, bytes, out int n) || n == 0) return false;
        int printable = 0;
        for (int i = 0; i < n; i++) printable += bytes[i] is >= 0x20 and < 0x7f or (byte)'\n' or (byte)'\t' ? 1 : 0;
        return printable >= 0.95 * n;
    }

    /// <summary>The payload of a data URI (<c>data:image/png;base64,...</c>) is a file, not a credential.</summary>
    static bool EmbeddedData(string text, int start) =>
        start >= 7 && text.AsSpan(start - 7, 7).Equals("base64,", StringComparison.OrdinalIgnoreCase);

    /// <summary>Digits, upper and lower case letters all present: words, identifiers in snake_case and hex digests are not.</summary>
    static bool LooksRandom(ReadOnlySpan<char> s)
    {
        bool digit = false, upper = false, lower = false;
        foreach (char c in s)
        {
            digit |= char.IsAsciiDigit(c);
            upper |= char.IsAsciiLetterUpper(c);
            lower |= char.IsAsciiLetterLower(c);
        }
        return digit && upper && lower;
    }

    [GeneratedRegex(@"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\n]*)")]
    private static partial Regex PrivateKeyBlock();
    [GeneratedRegex(@"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b")]
    private static partial Regex AwsAccessKey();
    [GeneratedRegex(@"(?i)aws.{0,20}?secret.{0,20}?[""'\s:=]{1,5}(?-i)(?<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")]
    private static partial Regex AwsSecretKey();
    [GeneratedRegex(@"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")]
    private static partial Regex GcpApiKey();
    [GeneratedRegex(@"""private_key_id""\s*:\s*""(?<s>[0-9a-f]{40})""")]
    private static partial Regex GcpServiceAccount();
    [GeneratedRegex(@"AccountKey=(?<s>[A-Za-z0-9+/]{80,88}={0,2})")]
    private static partial Regex AzureAccountKey();
    [GeneratedRegex(@"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])")]
    private static partial Regex AzureClientSecret();
    [GeneratedRegex(@"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b")]
    private static partial Regex GitHubToken();
    [GeneratedRegex(@"\bglpat-[A-Za-z0-9_\-]{20}(?![A-Za-z0-9_\-])")]
    private static partial Regex GitLabToken();
    [GeneratedRegex(@"\bxox[abposr]-(?:\d+-){1,3}[A-Za-z0-9-]{10,}")]
    private static partial Regex SlackToken();
    [GeneratedRegex(@"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}")]
    private static partial Regex SlackWebhook();
    [GeneratedRegex(@"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,}(?![A-Za-z0-9_\-])")]
    private static partial Regex OpenAiKey();
    [GeneratedRegex(@"\bhf_[A-Za-z0-9]{34,40}\b")]
    private static partial Regex HuggingFaceToken();
    [GeneratedRegex(@"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}")]
    private static partial Regex Jwt();
    [GeneratedRegex(@"[A-Za-z0-9+/_\-]{16,}={0,2}")]
    private static partial Regex Token();
}
