using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

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
        int exit = p.WaitForExit();
        return new Result(exit, p.Stdout, p.Stderr);
    }

    /// <summary>
    /// A started `tunesharp` process whose output is drained continuously (a full pipe would block it), character by
    /// character, so text without a newline (a reply being streamed) is visible at once.
    /// </summary>
    public sealed class Running : IDisposable
    {
        public const int SIGINT = 2, SIGTERM = 15;

        readonly StringBuilder _stdout = new(), _stderr = new();
        readonly Task _pumps;

        internal Running(Process process)
        {
            Process = process;
            _pumps = Task.WhenAll(Pump(process.StandardOutput, _stdout), Pump(process.StandardError, _stderr));
        }

        public Process Process { get; }
        public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        static Task Pump(StreamReader reader, StringBuilder into) => Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0)
                lock (into) into.Append(buffer, 0, n);
        });

        /// <summary>Delivers a real signal with kill(2), as Ctrl+C (SIGINT) or a service manager (SIGTERM) would.</summary>
        public void Signal(int signal)
        {
            if (kill(Process.Id, signal) != 0)
                throw new InvalidOperationException($"kill({Process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        /// <summary>Polls until <paramref name="condition"/> holds; fails if the process ends first or after 2 minutes.</summary>
        public void WaitUntil(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!condition())
            {
                if (Process.HasExited) throw new InvalidOperationException($"the process ended (exit {Process.ExitCode}) before {what}: {Stderr}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}: {Stderr}");
                Thread.Sleep(20);
            }
        }

        /// <summary>Waits for the exit (2 minutes at most) and for the output to be read to its end; returns the exit code.</summary>
        public int WaitForExit()
        {
            if (!Process.WaitForExit(TimeSpan.FromMinutes(2))) throw new TimeoutException($"no exit: {Stderr}");
            _pumps.Wait(TimeSpan.FromMinutes(1));
            return Process.ExitCode;
        }

        /// <summary>The process ended by itself, not by an unhandled exception (no runtime crash report, no stack frame).</summary>
        public void AssertNoCrash()
        {
            string err = Stderr;
            Xunit.Assert.DoesNotContain("Unhandled exception", err);
            Xunit.Assert.DoesNotMatch(@"(?m)^\s+at \S+", err);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }

        [DllImport("libc", SetLastError = true)]
        static extern int kill(int pid, int sig);
    }

    /// <summary>Starts the process with stdin closed and its output collected in the background.</summary>
    public static Running Start(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var run = StartWithInput(env, args);
        run.Process.StandardInput.Close();
        return run;
    }

    /// <summary>
    /// Starts the process with stdin open (write to <c>Process.StandardInput</c>, close it for end of input). It runs
    /// through <c>env --default-signal=INT</c>: a test host started in the background inherits an ignored SIGINT and
    /// would pass it on; the CLI is tested as an interactive shell starts it.
    /// </summary>
    public static Running StartWithInput(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["--default-signal=INT", "dotnet", Dll, .. args]) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return new Running(Process.Start(psi)!);
    }
}
