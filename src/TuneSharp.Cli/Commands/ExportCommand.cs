using System.CommandLine;
using TorchSharp;
using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Peft;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Outputs;
using TuneSharp.Training.Setup;

namespace TuneSharp.Cli.Commands;

/// <summary>`tunesharp export merge`: fold a LoRA/DoRA adapter into its base and write a complete HF checkpoint.</summary>
public static class ExportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var export = new Command("export", "Write a trained model in the formats other tools read.");
        export.Subcommands.Add(Merge(stdout, stderr));
        return export;
    }

    static Command Merge(TextWriter stdout, TextWriter stderr)
    {
        var baseModel = new Option<string>("--base") { Description = "Base model folder or hub id.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for the merged HF checkpoint.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16 weights in the output.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");
        var cmd = new Command("merge", "Fold a LoRA/DoRA adapter into the base weights; writes config, safetensors, tokenizer and generation config.")
        {
            baseModel, adapter, output, dtype,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            TorchRuntime.Initialize();
            string baseDir = await ModelLocator.ResolveAsync(parse.GetValue(baseModel)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            var type = CliOptions.ParseDType(parse.GetValue(dtype)!);
            // Merge in fp32 (a QLoRA base is dequantized first), then cast to the requested dtype.
            using var adapted = AdapterIO.Load(parse.GetValue(adapter)!, baseDir);
            using var merged = AdapterMerge.Merge(adapted.Model);
            if (type != torch.ScalarType.Float32) merged.to(type); // in place
            string outDir = Path.GetFullPath(parse.GetValue(output)!);
            FinalOutputs.SaveFullModel(outDir, new TrainableModel
            {
                Model = merged, Tokenizer = HfTokenizer.Load(baseDir), Directory = baseDir, DType = type,
            });
            stdout.WriteLine($"merged {adapted.Policy.AdaptedPaths.Count} adapted projections into {outDir}");
            return 0;
        });
        return cmd;
    }
}
