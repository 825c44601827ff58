namespace TuneSharp.Data.Safety;

/// <summary>What a detected span is: a kind of secret or of personal data.</summary>
public enum SpanType
{
    // Secrets
    AwsAccessKey, AwsSecretKey, GcpApiKey, GcpServiceAccountKey, AzureKey, GitHubToken, GitLabToken, SlackToken, OpenAiKey,
    HuggingFaceToken, PrivateKey, Jwt, HighEntropy,
    // Personal data
    Email, Phone, CreditCard, Iban, UsSsn,
}

/// <summary>A typed span of a string: <see cref="Start"/> and <see cref="Length"/> in UTF-16 code units.</summary>
public readonly record struct TextSpan(SpanType Type, int Start, int Length)
{
    public int End => Start + Length;

    /// <summary>True for credentials (keys, tokens, private keys, high-entropy strings), false for personal data.</summary>
    public bool IsSecret => Type < SpanType.Email;

    /// <summary>The typed placeholder a redactor writes instead of the span, e.g. <c>[EMAIL]</c>, <c>[AWS_ACCESS_KEY]</c>.</summary>
    public string Placeholder => $"[{SpanTypes.Name(Type).ToUpperInvariant()}]";
}

/// <summary>Names of span types as written in findings and placeholders (snake_case).</summary>
public static class SpanTypes
{
    public static string Name(SpanType type) => type switch
    {
        SpanType.AwsAccessKey => "aws_access_key",
        SpanType.AwsSecretKey => "aws_secret_key",
        SpanType.GcpApiKey => "gcp_api_key",
        SpanType.GcpServiceAccountKey => "gcp_service_account_key",
        SpanType.AzureKey => "azure_key",
        SpanType.GitHubToken => "github_token",
        SpanType.GitLabToken => "gitlab_token",
        SpanType.SlackToken => "slack_token",
        SpanType.OpenAiKey => "openai_key",
        SpanType.HuggingFaceToken => "huggingface_token",
        SpanType.PrivateKey => "private_key",
        SpanType.Jwt => "jwt",
        SpanType.HighEntropy => "high_entropy_string",
        SpanType.Email => "email",
        SpanType.Phone => "phone",
        SpanType.CreditCard => "credit_card",
        SpanType.Iban => "iban",
        SpanType.UsSsn => "us_ssn",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}

/// <summary>Finds typed spans in one string (secrets, personal data); the scanner's rules and a redactor share them.</summary>
public interface ISpanDetector
{
    IReadOnlyList<TextSpan> Find(string text);
}
