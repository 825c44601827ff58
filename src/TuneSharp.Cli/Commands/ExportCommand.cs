using System.CommandLine;
using TorchSharp;
using TuneSharp.Core.Hub;
using TuneSharp.Core.IO;
using TuneSharp.Core.Native;
using TuneSharp.Export;
using TuneSharp.Export.Gguf;
using TuneSharp.Export.Ollama;
using TuneSharp.Peft;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Outputs;
using TuneSharp.Training.Setup;

namespace TuneSharp.Cli.Commands;

/// <summary>`tunesharp export merge|gguf`: a merged HF checkpoint, or a GGUF file (+ Ollama Modelfile) for llama.cpp.</summary>
public static class ExportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var export = new Command("export", "Write a trained model in the formats other tools read.");
        export.Subcommands.Add(Merge(stdout, stderr));
        export.Subcommands.Add(Gguf(stdout, stderr));
        return export;
    }

    static Option<string> QuantOption()
    {
        var quant = new Option<string>("--quant")
        {
            Description = "The adapter was trained on a quantized base (QLoRA): nf4 or int8, block size 64, double quant, as the qlora defaults. "
                + "The base is quantized the same way, dequantized, merged, and the max abs weight error against an fp32-base merge is printed.",
        };
        quant.AcceptOnlyFromAmong("nf4", "int8", "none");
        return quant;
    }

    static QuantSettings? ParseQuant(string? name) => name switch
    {
        null or "none" => null,
        "nf4" => new QuantSettings(4),
        "int8" => new QuantSettings(8),
        _ => throw new ArgumentException($"--quant '{name}' is not supported (nf4, int8, none)"),
    };

    /// <summary>The base (resolved from a folder or hub id) with the adapter, if any, folded in; reports what was merged.</summary>
    static async Task<(string BaseDir, MergedModel Merged)> LoadMergedAsync(ParseResult parse, Option<string> model, Option<string> adapter,
        Option<string> quant, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        TorchRuntime.Initialize();
        string baseDir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
        string? adapterDir = parse.GetValue(adapter);
        var merged = ModelMerge.Load(baseDir, adapterDir, ParseQuant(parse.GetValue(quant)));
        if (adapterDir != null) stdout.WriteLine($"merged {merged.AdaptedProjections} adapted projections from {adapterDir}");
        if (merged.QuantRoundTripMaxAbsError is double e)
            stdout.WriteLine($"quantized base round trip (dequantize -> merge vs fp32-base merge): max abs weight error {e:G4}");
        return (baseDir, merged);
    }

    static Command Merge(TextWriter stdout, TextWriter stderr)
    {
        var baseModel = new Option<string>("--base") { Description = "Base model folder or hub id.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for the merged HF checkpoint.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16 weights in the output.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");
        var quant = QuantOption();
        var cmd = new Command("merge", "Fold a LoRA/DoRA adapter into the base weights; writes config, safetensors, tokenizer and generation config.")
        {
            baseModel, adapter, output, dtype, quant,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var type = CliOptions.ParseDType(parse.GetValue(dtype)!);
            // Merge in fp32 (a QLoRA base is dequantized first), then cast to the requested dtype.
            var (baseDir, merged) = await LoadMergedAsync(parse, baseModel, adapter, quant, stdout, stderr, ct);
            using var _ = merged;
            if (type != torch.ScalarType.Float32) merged.Model.to(type); // in place
            string outDir = Path.GetFullPath(parse.GetValue(output)!);
            FinalOutputs.SaveFullModel(outDir, merged.Model, baseDir);
            stdout.WriteLine($"wrote {outDir}");
            return 0;
        });
        return cmd;
    }

    static Command Gguf(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "Model folder or hub id (llama, mistral, qwen2, qwen3).", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter folder merged in first (optional)." };
        var output = new Option<string>("--out") { Description = "Output .gguf file; a Modelfile for Ollama is written beside it.", Required = true };
        var type = new Option<string>("--type") { Description = "Tensor type: f32, f16, bf16, q8_0 or q4_0 (norms, biases and rows that do not fill 32-value blocks stay f32).", DefaultValueFactory = _ => "f16" };
        type.AcceptOnlyFromAmong("f32", "f16", "bf16", "q8_0", "q4_0");
        var quant = QuantOption();
        var cmd = new Command("gguf", "Write a GGUF v3 file (llama.cpp, Ollama) with the tokenizer and chat template embedded, plus an Ollama Modelfile.")
        {
            model, adapter, output, type, quant,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var ggmlType = GgufModel.ParseType(parse.GetValue(type)!);
            string outPath = Path.GetFullPath(parse.GetValue(output)!);
            var (modelDir, merged) = await LoadMergedAsync(parse, model, adapter, quant, stdout, stderr, ct);
            using var _ = merged;
            Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
            var tokenizer = HfTokenizer.Load(modelDir);
            var result = GgufModel.Write(merged.Model, tokenizer, outPath, ggmlType, Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDir)));
            foreach (string w in result.Warnings) stderr.WriteLine($"warning: {w}");
            if (result.KeptF32.Count > 0)
                stdout.WriteLine($"kept f32 (rows not a multiple of 32): {string.Join(", ", result.KeptF32)}");
            stdout.WriteLine($"wrote {outPath} (arch {result.Architecture}, {parse.GetValue(type)})");

            var modelfile = Modelfile.Build(Path.GetFileName(outPath), tokenizer.ChatTemplate, tokenizer.BosToken, tokenizer.EosToken,
                Path.Combine(modelDir, "generation_config.json"));
            foreach (string w in modelfile.Warnings) stderr.WriteLine($"warning: {w}");
            string modelfilePath = Path.Combine(Path.GetDirectoryName(outPath)!, "Modelfile");
            AtomicFile.WriteAllText(modelfilePath, modelfile.Text);
            stdout.WriteLine($"wrote {modelfilePath} (template: {modelfile.Format?.Name ?? "plain"})");
            return 0;
        });
        return cmd;
    }
}
