using TuneSharp.Data.Safety;
using Xunit;

namespace TuneSharp.Data.Tests.Safety;

/// <summary>The span detectors on single strings: each type found with its exact span, look-alikes left alone.</summary>
public class DetectorTests
{
    static readonly SecretDetector Secrets = new();
    static readonly PersonalDataDetector Personal = new();

    /// <summary>The only span of <paramref name="text"/> is <paramref name="expected"/>, exactly where it was placed.</summary>
    static void AssertSpan(ISpanDetector detector, string prefix, string value, string suffix, SpanType expected)
    {
        string text = prefix + value + suffix;
        var span = Assert.Single(detector.Find(text));
        Assert.Equal(new TextSpan(expected, prefix.Length, value.Length), span);
    }

    [Theory]
    [InlineData("AKIAIOSFODNN7EXAMPLE", SpanType.AwsAccessKey)]
    [InlineData("ghp_abcdefghijklmnopqrstuvwxyz0123456789", SpanType.GitHubToken)]
    [InlineData("glpat-Ab3dEf6hIj9kLm2nOp5q", SpanType.GitLabToken)]
    [InlineData("xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx", SpanType.SlackToken)]
    [InlineData("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9k", SpanType.OpenAiKey)]
    [InlineData("hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", SpanType.HuggingFaceToken)]
    [InlineData("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", SpanType.GcpApiKey)]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", SpanType.Jwt)]
    [InlineData("Abc8Q~abcdefghijklmnopqrstuvwxyz01234", SpanType.AzureKey)]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----", SpanType.PrivateKey)]
    public void Secret_IsFoundWithItsTypeAndSpan(string secret, SpanType type) => AssertSpan(Secrets, "here: ", secret, " (do not share)", type);

    [Fact]
    public void AwsSecretKey_IsTheValueAfterItsName()
    {
        const string key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        AssertSpan(Secrets, "aws_secret_access_key = ", key, "\n", SpanType.AwsSecretKey);
    }

    [Fact]
    public void AzureAccountKey_IsTheValueInTheConnectionString()
    {
        string key = new string('a', 40) + "B1c2D3e4F5" + new string('Z', 36) + "==";
        AssertSpan(Secrets, "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=", key, ";EndpointSuffix=core.windows.net", SpanType.AzureKey);
    }

    [Fact]
    public void HighEntropy_RandomMixedString_IsFound_AtTheDocumentedThreshold()
    {
        const string token = "q8Zr2LmX9vTw4KpN7sYb3HcJ6dFg"; // 28 distinct characters: log2(28) = 4.81 bits/char
        Assert.True(Checksums.Entropy(token) >= SecretDetector.DefaultMinEntropy);
        AssertSpan(Secrets, "token=", token, "", SpanType.HighEntropy);
        Assert.Empty(new SecretDetector { MinEntropy = 0 }.Find("token=" + token));
        Assert.Empty(new SecretDetector { MinEntropy = 4.9 }.Find("token=" + token));
    }

    [Theory]
    [InlineData("sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 of the file")] // hex tops out at 4 bits/char
    [InlineData("id 123e4567-e89b-12d3-a456-426614174000")]
    [InlineData("the function get_current_weather_for_location_by_name")]
    [InlineData("tool_call_id call_Ab3dEf6hIj9kLm2nOp5qRs8t")]
    [InlineData("<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\">")]
    [InlineData("see https://example.com/watch?v=Ab3dEf6hIj9kLm2nOp5qRs8tUv")]
    [InlineData("sk-learn and scikit-learn are the same library")]
    public void NotASecret(string text) => Assert.Empty(Secrets.Find(text));

    [Fact]
    public void Base64OfReadableText_IsNotASecret() =>
        Assert.Empty(Secrets.Find(Convert.ToBase64String("alert(document.cookie); fetch('/x')"u8.ToArray())));

    [Theory]
    [InlineData("jane.doe+news@mail.example.co.uk", SpanType.Email)]
    [InlineData("+1 415-555-0134", SpanType.Phone)]
    [InlineData("(415) 555-0134", SpanType.Phone)]
    [InlineData("+44 20 7946 0958", SpanType.Phone)]
    [InlineData("4111 1111 1111 1111", SpanType.CreditCard)]
    [InlineData("5500-0000-0000-0004", SpanType.CreditCard)]
    [InlineData("378282246310005", SpanType.CreditCard)]
    [InlineData("GB82 WEST 1234 5698 7654 32", SpanType.Iban)]
    [InlineData("DE89370400440532013000", SpanType.Iban)]
    [InlineData("123-45-6789", SpanType.UsSsn)]
    public void PersonalData_IsFoundWithItsTypeAndSpan(string value, SpanType type) => AssertSpan(Personal, "write to ", value, " today.", type);

    [Theory]
    [InlineData("order 4111 1111 1111 1112 shipped")]        // Luhn fails
    [InlineData("serial 1234567890123456")]                 // no issuer prefix, Luhn fails
    [InlineData("GB82 WEST 1234 5698 7654 33")]              // mod-97 fails
    [InlineData("area 666-12-3456 and 000-12-3456")]         // never-issued SSN areas
    [InlineData("on 2024-01-15 at 10:30, version 1.2.3.4")]   // dates and versions
    [InlineData("the population was 1234567")]
    public void NotPersonalData(string text) => Assert.Empty(Personal.Find(text));

    [Fact]
    public void Checksums_MatchTheirStandards()
    {
        Assert.True(Checksums.Luhn("79927398713"));  // the Luhn algorithm's textbook number
        Assert.False(Checksums.Luhn("79927398710"));
        Assert.True(Checksums.IbanMod97("GB82WEST12345698765432")); // ISO 13616 example
        Assert.False(Checksums.IbanMod97("GB82WEST12345698765433"));
        Assert.Equal(2.0, Checksums.Entropy("abcd"), 12);
        Assert.Equal(0.0, Checksums.Entropy("aaaa"), 12);
    }

    [Fact]
    public void Redact_ReplacesEverySpanWithItsTypedPlaceholder()
    {
        const string text = "mail bob@example.org, key AKIAIOSFODNN7EXAMPLE, card 4111111111111111.";
        var spans = Personal.Find(text).Concat(Secrets.Find(text));
        Assert.Equal("mail [EMAIL], key [AWS_ACCESS_KEY], card [CREDIT_CARD].", SpanRedactor.Redact(text, spans));
        Assert.Equal("AKIA****************", SpanRedactor.Mask("AKIAIOSFODNN7EXAMPLE"));
    }

    [Fact]
    public void Excerpt_MasksSecrets_EvenWhenTheWindowCutsThem()
    {
        string text = new string('x', 150) + " ghp_abcdefghijklmnopqrstuvwxyz0123456789 " + new string('y', 150);
        string excerpt = Excerpt.Around(text, 140, 5);
        Assert.DoesNotContain("abcdefghij", excerpt);
        Assert.Contains("ghp_***", excerpt);
        Assert.True(excerpt.Length <= Excerpt.Width + 2, excerpt);
    }
}
