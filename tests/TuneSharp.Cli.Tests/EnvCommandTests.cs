using Xunit;

namespace TuneSharp.Cli.Tests;

public class EnvCommandTests
{
    [Fact]
    public async Task Env_PrintsVersionsNativeFixAndAllocator_InProcess()
    {
        var stdout = new StringWriter();
        int rc = await CliApp.RunAsync(["env"], stdout, new StringWriter());
        Assert.Equal(0, rc);
        string text = stdout.ToString();
        Assert.Contains("- libtorch: 2.10", text);
        Assert.Contains("- torch threads: ", text);
        Assert.Matches(@"native fix \(GLIBCXX_3\.4\.32\): (applied|not needed)", text);
        Assert.Contains("- allocator: glibc mallopt", text);
    }

    [Fact]
    public async Task Env_PrintsTheVersionAndTheCommitItWasBuiltFrom()
    {
        var stdout = new StringWriter();
        Assert.Equal(0, await CliApp.RunAsync(["env"], stdout, new StringWriter()));
        var match = System.Text.RegularExpressions.Regex.Match(stdout.ToString(), @"- TuneSharp: 0\.1\.0 \(commit ([0-9a-f]{40})\)");
        Assert.True(match.Success, stdout.ToString());
        // A commit of this repository that the checkout contains (HEAD itself, unless commits were made after the build).
        Assert.Equal(0, Git("merge-base", "--is-ancestor", match.Groups[1].Value, "HEAD"));
    }

    static int Git(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = TuneSharp.Testing.Fixtures.RepoRoot, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var git = System.Diagnostics.Process.Start(psi)!;
        git.WaitForExit();
        return git.ExitCode;
    }

    [Fact]
    public void UnknownVerb_FailsWithUsage()
    {
        var r = CliRunner.Run(null, "frobnicate");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("frobnicate", r.Stderr + r.Stdout);
    }
}

public class ErrorReportingTests
{
    [Fact]
    public async Task Failure_IsOneClearLine_WithoutAStackTrace()
    {
        var stderr = new StringWriter();
        int rc = await CliApp.RunAsync(["generate", "--model", "/nonexistent/model-dir", "--prompt", "x"], new StringWriter(), stderr);
        Assert.Equal(CliApp.Failed, rc);
        string text = stderr.ToString();
        Assert.StartsWith("error: ", text);
        Assert.Contains("/nonexistent/model-dir", text);
        Assert.DoesNotContain("   at ", text);
    }
}
