namespace TuneSharp.Data.Safety;

/// <summary>Settings of a scan. The defaults are those of <c>tunesharp data scan</c> and of training's pre-flight scan.</summary>
public sealed record ScanOptions
{
    /// <summary>Domains tool calls may reach without a finding (a subdomain of an allowed domain is allowed). The default
    /// is the reserved documentation domains of RFC 2606 / RFC 6761, which can never be an attacker's.</summary>
    public static readonly IReadOnlyList<string> DefaultAllowedDomains = ["example.com", "example.net", "example.org", "localhost"];

    public IReadOnlyList<string> AllowedDomains { get; init; } = DefaultAllowedDomains;

    /// <summary>Findings below this severity are dropped.</summary>
    public Severity MinSeverity { get; init; } = Severity.Low;

    /// <summary>Rule ids to skip.</summary>
    public IReadOnlyCollection<string> DisabledRules { get; init; } = [];

    /// <summary>The secret detector (its entropy threshold can be changed or turned off with 0).</summary>
    public SecretDetector Secrets { get; init; } = new();
    public PersonalDataDetector PersonalData { get; init; } = new();

    /// <summary>A tool called as the extra last call of a turn in at least this fraction of a file's tool-calling examples
    /// is reported as a recurring appended call (<c>recurring_call</c>), from <see cref="RecurringMinExamples"/> examples on.</summary>
    public double RecurringFraction { get; init; } = 0.5;
    public int RecurringMinExamples { get; init; } = 5;

    /// <summary>The allow-list with extra domains added (lower case, without scheme or leading dot).</summary>
    public ScanOptions AllowMore(IEnumerable<string> domains) =>
        this with { AllowedDomains = [.. AllowedDomains.Concat(domains.Select(Normalize)).Distinct(StringComparer.Ordinal)] };

    static string Normalize(string d)
    {
        d = d.Trim().ToLowerInvariant();
        int scheme = d.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) d = d[(scheme + 3)..];
        return d.Split('/', ':')[0].TrimStart('*').TrimStart('.');
    }
}
