using System.CommandLine;
using TuneSharp.Training.Config;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Recipes;

namespace TuneSharp.Cli.Commands;

/// <summary>`tunesharp train config.yaml [key.sub=value ...] [--resume]`.</summary>
public static class TrainCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Interrupts interrupts)
    {
        var config = new Argument<string>("config") { Description = "The run's YAML config (see docs/config.md)." };
        var overrides = new Argument<string[]>("overrides")
        {
            Description = "Overrides like model.path=../m method.lora.r=16 (same validation as the file).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in output.dir (required to exist)." };
        var cmd = new Command("train", "Fine-tune a model as the config says (full, freeze, LoRA, DoRA, QLoRA; SFT, pretraining, DPO or KTO).")
        {
            config, overrides, resume,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            TrainConfig cfg;
            try
            {
                cfg = ConfigLoader.Load(parse.GetValue(config)!, parse.GetValue(overrides) ?? []);
            }
            catch (ConfigException e)
            {
                stderr.WriteLine(e.Message);
                return CliApp.UsageError;
            }
            if (TrainInputs.Missing(cfg, parse.GetValue(config)!) is { Count: > 0 } missing)
            {
                stderr.WriteLine(new ConfigException(missing).Message);
                return CliApp.UsageError;
            }
            var interruption = new TrainInterruption();
            using var onSignal = ct.Register(interruption.Interrupt);
            var observers = ObserverFactory.Create(cfg.Logging, Path.GetFullPath(cfg.Output.Dir), stdout);
            var summary = await TrainRun.RunAsync(cfg, new TrainRunOptions
            {
                ResolvedYaml = ConfigLoader.ToYaml(cfg),
                ForceResume = parse.GetValue(resume),
                Observers = [.. observers, interruption],
                Stop = interruption.Stop,
                DownloadProgress = DownloadProgressPrinter.For(stderr),
                Log = stderr,
            }, interruption.StartupToken);
            // 130/143 after SIGINT/SIGTERM, once the checkpoint of the last step is written.
            return summary.Status == "interrupted" ? interrupts.ExitCode ?? CliApp.Failed : 0;
        });
        return cmd;
    }
}
