using System.Diagnostics;

namespace TuneSharp.Cli.Tests;

/// <summary>Runs the real `tunesharp` program (tunesharp.dll from the build output) as a child process.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "tunesharp.dll");

    public static Result Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(env, args);
        if (!p.Process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tunesharp {string.Join(' ', args)} did not finish in 3 minutes");
        }
        p.Process.WaitForExit(); // drains the asynchronous output readers
        return new Result(p.Process.ExitCode, p.Stdout, p.Stderr);
    }

    /// <summary>A started `tunesharp` process whose output is drained continuously (a full pipe would block it).</summary>
    public sealed class Running(Process process, System.Text.StringBuilder stdout, System.Text.StringBuilder stderr) : IDisposable
    {
        public Process Process { get; } = process;
        public string Stdout { get { lock (stdout) return stdout.ToString(); } }
        public string Stderr { get { lock (stderr) return stderr.ToString(); } }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    /// <summary>Starts the process with stdin closed and its output collected in the background.</summary>
    public static Running Start(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new Running(p, stdout, stderr);
    }
}
