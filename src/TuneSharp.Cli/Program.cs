using TuneSharp.Cli;

using var interrupts = Interrupts.Install(Console.Error);
return await CliApp.RunAsync(args, Console.Out, Console.Error, interrupts: interrupts);
