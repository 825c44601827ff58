using Xunit;

namespace TuneSharp.Testing;

/// <summary>
/// Locates the shared test fixtures (real models, tokenizers, datasets). Set TUNESHARP_FIXTURES to override the default
/// ../shared/fixtures (relative to the repository root). On a user's clone without them, tests that need them are skipped
/// with a reason; in CI (CI=true) or with TUNESHARP_REQUIRE_FIXTURES=1 their absence is a failure.
/// </summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string? Root
    {
        get
        {
            string dir = Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") is { Length: > 0 } env
                ? env
                : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    static bool Required =>
        Environment.GetEnvironmentVariable("TUNESHARP_REQUIRE_FIXTURES") == "1" ||
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Absolute path of a fixture; skips (or fails in CI) when the fixtures are absent.</summary>
    public static string Path_(string relative) => Get(relative);

    public static string Get(string relative)
    {
        string? root = Root;
        if (root == null)
        {
            string msg = "shared fixtures not found (set TUNESHARP_FIXTURES or place them at ../shared/fixtures)";
            if (Required) throw new InvalidOperationException(msg + "; they are required in CI");
            Assert.Skip(msg);
        }
        string full = Path.Combine(root!, relative);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new FileNotFoundException($"fixture '{relative}' is missing under {root}", full);
        return full;
    }

    /// <summary>A file committed beside the tests (tests/fixtures/...).</summary>
    public static string Repo(string relative) => Path.Combine(RepoRoot, "tests", "fixtures", relative);

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Directory.Packages.props) not found above " + AppContext.BaseDirectory);
    }
}
