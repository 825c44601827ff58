using System.CommandLine;
using TuneSharp.Cli.Commands;

namespace TuneSharp.Cli;

/// <summary>The `tunesharp` command: one file per verb under Commands/.</summary>
public static class CliApp
{
    /// <summary>Exit codes shared by every verb.</summary>
    public const int Failed = 1, UsageError = 2;

    public static RootCommand Build(TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        var root = new RootCommand("TuneSharp: fine-tune open LLMs natively in .NET.");
        root.Subcommands.Add(EnvCommand.Create(stdout));
        root.Subcommands.Add(GenerateCommand.Create(stdout, stderr));
        root.Subcommands.Add(TrainCommand.Create(stdout, stderr));
        root.Subcommands.Add(DataCommand.Create(stdout, stderr));
        root.Subcommands.Add(ExportCommand.Create(stdout, stderr));
        root.Subcommands.Add(ChatCommand.Create(stdin ?? Console.In, stdout, stderr));
        root.Subcommands.Add(ServeCommand.Create(stdout, stderr));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader? stdin = null)
    {
        var root = Build(stdout, stderr, stdin);
        // Errors are reported here, as one clear message; TUNESHARP_DEBUG=1 adds the stack trace.
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        var parse = root.Parse(args);
        try
        {
            int exit = await parse.InvokeAsync(config);
            // Usage errors (unknown option, missing argument) exit with 2, as Unix tools do; 1 = the command failed.
            return parse.Errors.Count > 0 ? UsageError : exit;
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("cancelled");
            return Failed;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error: {Describe(e)}");
            if (Environment.GetEnvironmentVariable("TUNESHARP_DEBUG") == "1") stderr.WriteLine(e);
            return Failed;
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
