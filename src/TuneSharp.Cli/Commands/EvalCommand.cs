using System.CommandLine;
using TuneSharp.Core.Hub;
using TuneSharp.Core.Native;
using TuneSharp.Eval;
using TuneSharp.Eval.Results;
using TuneSharp.Inference;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp eval`: run benchmark tasks (lm-evaluation-harness definitions) on a model, optionally with a PEFT adapter;
/// the results table goes to stdout, progress to stderr, the harness-shaped results JSON to --output (atomically).
/// </summary>
public static class EvalCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Model folder or Hugging Face hub id (org/name[@revision]).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT adapter folder applied to the model." };
        var tasks = new Option<string>("--tasks", "-t")
        {
            Description = "Comma-separated tasks: arc_easy, arc_challenge, piqa, winogrande, boolq, hellaswag, mmlu, mmlu_SUBJECT, " +
                          "truthfulqa_mc1, truthfulqa_mc2, gsm8k, math500; name=PATH for your own copy of a task's data; " +
                          "perplexity=FILE (.txt or .jsonl {text}); or a custom task .yaml.",
            Required = true,
        };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N items of each task." };
        var fewshot = new Option<int?>("--num-fewshot") { Description = "Few-shot examples per item (default: each task's own)." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the results JSON here (lm-evaluation-harness's shape)." };
        var batch = new Option<int>("--batch-size") { Description = "Rows per forward and prompts per generation batch.", DefaultValueFactory = _ => 16 };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder holding the built-in tasks' data (one folder per dataset; see docs/eval.md)." };
        var addBos = new Option<bool>("--add-bos") { Description = "Prepend BOS to every text (the harness's add_bos_token; off by default as there)." };
        var maxGen = new Option<int>("--max-gen-toks") { Description = "Most generated tokens per item in generation tasks.", DefaultValueFactory = _ => 256 };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");

        var cmd = new Command("eval", "Evaluate a model on benchmarks (multiple choice, generation, perplexity, custom tasks).")
        {
            model, adapter, tasks, limit, fewshot, output, batch, dataDir, addBos, maxGen, dtype,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var options = new EvalOptions
            {
                Limit = parse.GetValue(limit),
                NumFewshot = parse.GetValue(fewshot),
                BatchSize = parse.GetValue(batch),
                DataDir = parse.GetValue(dataDir),
                AddBos = parse.GetValue(addBos),
                MaxGenTokens = parse.GetValue(maxGen),
                Cancellation = ct, // Ctrl+C / SIGTERM stop at the next item: exit 130 / 143 (CliApp)
            };
            options.Validate();
            var specs = parse.GetValue(tasks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            // Resolve every task (and read its data location) before loading the model: a typo fails in a second.
            var resolved = Eval.Tasks.TaskRegistry.Resolve(specs, options);

            TorchRuntime.Initialize();
            string dir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var bundle = ModelBundle.Load(dir, parse.GetValue(adapter), CliOptions.ParseDType(parse.GetValue(dtype)!));
            ChatCommand.ReportLoad(bundle, clock.Elapsed, stderr);

            var results = EvalRunner.Run(bundle, resolved, options, stderr.WriteLine);
            stdout.Write(ResultsTable.Render(results));
            stderr.WriteLine($"forwarded {results.ForwardedTokens} tokens in {results.Forwards} forwards, {results.Elapsed.TotalSeconds:F1} s");
            if (parse.GetValue(output) is { } path)
            {
                ResultsJson.Write(path, results);
                stderr.WriteLine($"results written to {path}");
            }
            return 0;
        });
        return cmd;
    }
}
