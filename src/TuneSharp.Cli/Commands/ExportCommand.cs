using System.CommandLine;
using TorchSharp;
using TuneSharp.Core.Hub;
using TuneSharp.Core.IO;
using TuneSharp.Core.Native;
using TuneSharp.Export;
using TuneSharp.Export.Gguf;
using TuneSharp.Export.Ollama;
using TuneSharp.Peft;
using TuneSharp.Peft.Outputs;

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

    /// <summary>
    /// The base (resolved from a folder or hub id) with the adapter, if any, folded in; reports what was merged, notes
    /// about the folders, and why the adapter itself would not load as trained in vLLM (the export has it folded in).
    /// </summary>
    static async Task<(string BaseDir, MergedModel Merged)> LoadMergedAsync(ParseResult parse, Option<string> model, Option<string> adapter,
        Option<string> quant, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        TorchRuntime.Initialize();
        string baseDir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
        string? adapterDir = parse.GetValue(adapter);
        var merged = ModelMerge.Load(baseDir, adapterDir, ParseQuant(parse.GetValue(quant)));
        foreach (string note in merged.Notes) stderr.WriteLine($"note: {note}");
        if (adapterDir != null) stdout.WriteLine($"merged {merged.AdaptedProjections} adapted projections from {adapterDir}");
        foreach (string p in merged.Adapter is { } s ? VllmCompatibility.Problems(s) : [])
            stderr.WriteLine($"note: the adapter itself would not load as trained in vLLM ({p}); this export has it merged in");
        if (merged.QuantRoundTripMaxAbsError is double e)
            stdout.WriteLine($"quantized base round trip (dequantize -> merge vs fp32-base merge): max abs weight error {e:G4}");
        return (baseDir, merged);
    }

    /// <summary>
    /// The merge output may not be an input, lie inside one or contain one (replacing it would delete it); an existing
    /// non-empty folder is replaced only with --force.
    /// </summary>
    internal static void CheckOutputFolder(string outDir, bool force, params (string Option, string? Path)[] inputs)
    {
        foreach (var (option, path) in inputs)
        {
            if (path == null) continue;
            string input = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
            if (Within(outDir, input) || Within(input, outDir))
                throw new ArgumentException($"--out {outDir} overlaps {option} {input}: write the merged model to a separate folder");
        }
        if (File.Exists(outDir)) throw new ArgumentException($"--out {outDir} is a file; give a folder");
        if (!force && Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new ArgumentException($"--out {outDir} exists and is not empty; pass --force to replace it");
    }

    /// <summary>Removes the temporaries that killed exports (their process is gone) left in the output folder, saying so.</summary>
    static void ReportStaleTemps(string folder, TextWriter stderr)
    {
        foreach (string stale in OwnedTemp.CleanStale(folder)) stderr.WriteLine($"removed {stale} (left by an export that did not finish)");
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or inside it.</summary>
    static bool Within(string path, string folder) =>
        path == folder || path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    static Command Merge(TextWriter stdout, TextWriter stderr)
    {
        var baseModel = new Option<string>("--base") { Description = "Base model folder or hub id.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for the merged HF checkpoint (written atomically; never inside an input).", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16 weights in the output.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");
        var force = new Option<bool>("--force") { Description = "Replace an existing non-empty --out folder." };
        var quant = QuantOption();
        var cmd = new Command("merge", "Fold a LoRA/DoRA adapter into the base weights; writes config, safetensors, tokenizer (with the adapter's chat template) and generation config.")
        {
            baseModel, adapter, output, dtype, force, quant,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var type = CliOptions.ParseDType(parse.GetValue(dtype)!);
            string outDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(parse.GetValue(output)!));
            string baseArg = parse.GetValue(baseModel)!;
            CheckOutputFolder(outDir, parse.GetValue(force), ("--base", Directory.Exists(baseArg) ? baseArg : null), ("--adapter", parse.GetValue(adapter)));
            // Merge in fp32 (a QLoRA base is dequantized first), then cast to the requested dtype.
            var (baseDir, merged) = await LoadMergedAsync(parse, baseModel, adapter, quant, stdout, stderr, ct);
            using var _ = merged;
            CheckOutputFolder(outDir, parse.GetValue(force), ("--base", baseDir)); // a hub id resolved to a cache folder
            if (type != torch.ScalarType.Float32) merged.Model.to(type); // in place
            ReportStaleTemps(Path.GetDirectoryName(outDir)!, stderr);
            ModelFolder.Save(outDir, merged.Model, baseDir, merged.TokenizerDirectory, merged.Tokenizer.ChatTemplate, replace: parse.GetValue(force));
            stdout.WriteLine($"wrote {outDir}");
            return 0;
        });
        return cmd;
    }

    static Command Gguf(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "Model folder or hub id (llama, mistral, qwen2, qwen3).", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "PEFT adapter folder merged in first (optional); its trained chat template goes into the GGUF." };
        var output = new Option<string>("--out") { Description = "Output .gguf file; an Ollama <name>.Modelfile is written beside it.", Required = true };
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
            if (Directory.Exists(outPath)) throw new ArgumentException($"--out {outPath} is a folder; give a .gguf file path");
            string outDir = Path.GetDirectoryName(outPath)!;
            Directory.CreateDirectory(outDir);
            ReportStaleTemps(outDir, stderr);
            var (modelDir, merged) = await LoadMergedAsync(parse, model, adapter, quant, stdout, stderr, ct);
            using var _ = merged;
            var tokenizer = merged.Tokenizer;
            var result = GgufModel.Write(merged.Model, tokenizer, outPath, ggmlType, Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDir)));
            foreach (string w in result.Warnings) stderr.WriteLine($"warning: {w}");
            if (result.KeptF32.Count > 0)
                stdout.WriteLine($"kept f32 (rows not a multiple of 32): {string.Join(", ", result.KeptF32)}");
            stdout.WriteLine($"wrote {outPath} (arch {result.Architecture}, {parse.GetValue(type)})");

            var modelfile = Modelfile.Build(Path.GetFileName(outPath),
                new ModelfileTokenizer(tokenizer.ChatTemplate, tokenizer.BosToken, tokenizer.EosToken, tokenizer.AddBosToken),
                Path.Combine(modelDir, "generation_config.json"));
            foreach (string w in modelfile.Warnings) stderr.WriteLine($"warning: {w}");
            string modelfilePath = Path.Combine(outDir, Modelfile.FileNameFor(outPath));
            AtomicFile.WriteAllText(modelfilePath, modelfile.Text);
            string template = modelfile.Format is { } f ? $"TEMPLATE {f.Name}" : "no TEMPLATE: Ollama takes the GGUF's chat template";
            stdout.WriteLine($"wrote {modelfilePath} ({template}{(modelfile.SystemPrompt != null ? ", SYSTEM from the template's default" : "")})");
            return 0;
        });
        return cmd;
    }
}
