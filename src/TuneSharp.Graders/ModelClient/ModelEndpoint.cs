namespace TuneSharp.Graders.ModelClient;

/// <summary>
/// An OpenAI-compatible API: <see cref="BaseUrl"/> is the prefix before <c>/chat/completions</c> (e.g.
/// <c>http://127.0.0.1:8000/v1</c> for <c>tunesharp serve</c>, <c>https://api.openai.com/v1</c>).
/// </summary>
public sealed record ModelEndpoint(Uri BaseUrl, string? ApiKey = null)
{
    /// <summary>Attempts after the first one on 429 / 5xx / connection failures.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>Delay before the first retry; doubles each time (a server's Retry-After wins when it is longer, up to <see cref="MaxDelay"/>).</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit of one HTTP attempt.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(120);
}
