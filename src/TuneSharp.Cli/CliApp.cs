using System.CommandLine;
using TuneSharp.Cli.Commands;

namespace TuneSharp.Cli;

/// <summary>The `tunesharp` command: one file per verb under Commands/.</summary>
public static class CliApp
{
    public static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("TuneSharp: fine-tune open LLMs natively in .NET.");
        root.Subcommands.Add(EnvCommand.Create(stdout));
        root.Subcommands.Add(GenerateCommand.Create(stdout, stderr));
        root.Subcommands.Add(TrainCommand.Create(stdout, stderr));
        root.Subcommands.Add(DataCommand.Create(stdout, stderr));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(stdout, stderr);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        var parse = root.Parse(args);
        int exit = await parse.InvokeAsync(config);
        // Usage errors (unknown option, missing argument) exit with 2, as Unix tools do; 1 stays "the command found problems".
        return parse.Errors.Count > 0 ? DataCommand.UsageError : exit;
    }
}
