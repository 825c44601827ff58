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
