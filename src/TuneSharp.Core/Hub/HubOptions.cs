namespace TuneSharp.Core.Hub;

/// <summary>
/// Where and how to reach the Hugging Face hub. The environment variables are the ones huggingface_hub reads, so a cache
/// filled by Python tools is reused here and the other way round.
/// </summary>
/// <param name="Endpoint">Hub base URL without a trailing slash (<c>HF_ENDPOINT</c>, default https://huggingface.co).</param>
/// <param name="CacheDir">Cache root holding <c>models--org--name</c> folders (<c>HF_HUB_CACHE</c>, else <c>HF_HOME/hub</c>).</param>
/// <param name="Token">Access token sent as <c>Authorization: Bearer</c> (<c>HF_TOKEN</c>), or null.</param>
/// <param name="Offline">Resolve from the cache only, never touch the network (<c>HF_HUB_OFFLINE=1</c>).</param>
public sealed record HubOptions(string Endpoint, string CacheDir, string? Token, bool Offline)
{
    /// <summary>The public hub.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Attempts per request (first try included) on transient failures: network errors, timeouts, 429 and 5xx.
    /// A host name that does not resolve is not retried.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Wait before the first retry; doubles after each failure up to <see cref="MaxRetryDelay"/>. Zero in tests.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the retry wait.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(16);

    /// <summary>A download whose body sends nothing for this long is treated as a transient failure (and resumed).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Reads the process environment (see the class remarks for the variables).</summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Same as <see cref="FromEnvironment()"/> with an explicit variable lookup (tests, embedding hosts).</summary>
    public static HubOptions FromEnvironment(Func<string, string?> getEnv)
    {
        string? Var(string name) => getEnv(name) is { Length: > 0 } v ? v : null;

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string xdgCache = Var("XDG_CACHE_HOME") ?? Path.Combine(home, ".cache");
        string hfHome = ExpandHome(Var("HF_HOME") ?? Path.Combine(xdgCache, "huggingface"), home);
        // HUGGINGFACE_HUB_CACHE is the legacy spelling that huggingface_hub still honours.
        string cache = ExpandHome(Var("HF_HUB_CACHE") ?? Var("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(hfHome, "hub"), home);
        string endpoint = (Var("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/');
        string? token = Var("HF_TOKEN") ?? Var("HUGGING_FACE_HUB_TOKEN") ?? ReadTokenFile(Var("HF_TOKEN_PATH") ?? Path.Combine(hfHome, "token"));
        bool offline = IsTrue(Var("HF_HUB_OFFLINE"));
        return new HubOptions(endpoint, Path.GetFullPath(cache), token, offline);
    }

    // huggingface_hub accepts 1/ON/YES/TRUE in any case.
    static bool IsTrue(string? v) => v != null && v.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    static string ExpandHome(string path, string home) =>
        path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;

    // `huggingface-cli login` stores the token in HF_HOME/token.
    static string? ReadTokenFile(string path)
    {
        try { return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } t ? t : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The token is never printed.</summary>
    public override string ToString() =>
        $"HubOptions {{ Endpoint = {Endpoint}, CacheDir = {CacheDir}, Token = {(Token == null ? "none" : "set")}, Offline = {Offline} }}";
}

/// <summary>Download progress of one file: bytes written so far (resumed bytes included) and the total when known.</summary>
public sealed record DownloadProgress(string File, long BytesDone, long? TotalBytes);

/// <summary>A hub request failed in a way a user can act on (access, missing repo or revision, offline cache miss).</summary>
public sealed class HubException(string message, int? statusCode = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status that caused the error, if any.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>The hub could not be reached (network error, timeout, 429/5xx after all retries).</summary>
    public bool Transient { get; init; }
}
