using System.CommandLine;
using TuneSharp.Cli.Commands;

namespace TuneSharp.Cli;

/// <summary>The `tunesharp` command: one file per verb under Commands/.</summary>
public static class CliApp
{
    /// <summary>Exit codes shared by every verb (a signal gives 130 or 143, see <see cref="Interrupts"/>).</summary>
    public const int Failed = 1, UsageError = 2;

    public static RootCommand Build(TextWriter stdout, TextWriter stderr, TextReader? stdin = null, Interrupts? interrupts = null)
    {
        interrupts ??= Interrupts.Detached(stderr);
        var root = new RootCommand("TuneSharp: fine-tune open LLMs natively in .NET.");
        root.Subcommands.Add(EnvCommand.Create(stdout));
        root.Subcommands.Add(GenerateCommand.Create(stdout, stderr));
        root.Subcommands.Add(TrainCommand.Create(stdout, stderr, interrupts));
        root.Subcommands.Add(DataCommand.Create(stdout, stderr));
        root.Subcommands.Add(ExportCommand.Create(stdout, stderr));
        root.Subcommands.Add(ChatCommand.Create(stdin ?? Console.In, stdout, stderr, interrupts));
        root.Subcommands.Add(ServeCommand.Create(stdout, stderr));
        root.Subcommands.Add(RewardCommand.Create(stdout, stderr));
        root.Subcommands.Add(EvalCommand.Create(stdout, stderr));
        return root;
    }

    /// <summary>
    /// Runs one command line. <paramref name="interrupts"/> is what SIGINT/SIGTERM do (the program passes the installed
    /// handlers; in-process callers get a detached instance, so their own Ctrl+C stays theirs).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader? stdin = null,
        Interrupts? interrupts = null)
    {
        using var detached = interrupts == null ? Interrupts.Detached(stderr) : null;
        interrupts ??= detached!;
        var root = Build(stdout, stderr, stdin, interrupts);
        // Errors are reported here, as one clear message; TUNESHARP_DEBUG=1 adds the stack trace. Signals are handled by
        // Interrupts (System.CommandLine's own handler is off: it forces an exit 2 s after the first signal, mid-step).
        var config = new InvocationConfiguration
        {
            Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
        };
        var parse = root.Parse(args);
        try
        {
            int exit = await parse.InvokeAsync(config, interrupts.Token);
            // Usage errors (unknown option, missing argument) exit with 2, as Unix tools do; 1 = the command failed.
            return parse.Errors.Count > 0 ? UsageError : exit;
        }
        catch (OperationCanceledException) when (interrupts.ExitCode is { } code)
        {
            return code; // stopped by a signal; the handler has said so on stderr
        }
        catch (Exception e)
        {
            stderr.WriteLine(e is OperationCanceledException ? "cancelled" : $"error: {Describe(e)}");
            if (Environment.GetEnvironmentVariable("TUNESHARP_DEBUG") == "1") stderr.WriteLine(e);
            return interrupts.ExitCode ?? Failed; // a failure while stopping still reports the stop
        }
    }

    /// <summary>The message, plus inner messages that add information (wrapped I/O or native errors).</summary>
    static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x != null; x = x.InnerException)
            if (!parts.Any(p => p.Contains(x.Message, StringComparison.Ordinal))) parts.Add(x.Message);
        return string.Join(" <- ", parts);
    }
}
