using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TuneSharp.Core.Hub;
using TuneSharp.Core.IO;
using TuneSharp.Core.Native;
using TuneSharp.Data.Templates;
using TuneSharp.Training.Reward;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp reward score`: scores a data file with a reward model (a *ForSequenceClassification folder, or a base model
/// with a reward adapter), one JSON line per example (to stdout or --output), then for preference pairs the pairwise
/// accuracy and mean margin. docs/cli/reward.md.
/// </summary>
public static class RewardCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var reward = new Command("reward", "Use a trained reward model.");
        reward.Subcommands.Add(Score(stdout, stderr));
        return reward;
    }

    static Command Score(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Reward model folder (*ForSequenceClassification), or the base model of --adapter.", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "Reward adapter folder (PEFT, task_type SEQ_CLS, score in modules_to_save)." };
        var data = new Option<string>("--data", "-d") { Description = "Data file: preference pairs, conversations or text (any format `data validate` reads).", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "Write the per-example scores (JSON lines) to this file instead of stdout." };
        var template = TemplateOption.Create("Chat template: auto (default: the one the reward model was trained with, saved in its tokenizer files; "
            + "chatml when it has none), " + string.Join(", ", ChatTemplate.BuiltInNames) + ", or a path to a .jinja file.");
        var maxSeqLen = new Option<int>("--max-seq-len") { Description = "Longer examples are cut as in training (prompt first).", DefaultValueFactory = _ => 2048 };
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16.", DefaultValueFactory = _ => "fp32" };
        dtype.AcceptOnlyFromAmong("fp32", "bf16");

        var cmd = new Command("score", "Score each example of a data file; for preference pairs, print pairwise accuracy and mean margin.")
        {
            model, adapter, data, output, template, maxSeqLen, dtype,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            TorchRuntime.Initialize();
            string dir = await ModelLocator.ResolveAsync(parse.GetValue(model)!, progress: DownloadProgressPrinter.For(stderr), ct: ct);
            using var bundle = RewardModelFiles.Load(dir, parse.GetValue(adapter), CliOptions.ParseDType(parse.GetValue(dtype)!));
            var chosen = TemplateResolver.Resolve(parse.GetValue(template), bundle.Tokenizer, parse.GetValue(adapter) is null ? "model" : "adapter");
            var scorer = new RewardScorer(bundle, chosen?.Template ?? ChatTemplate.BuiltIn("chatml"), parse.GetValue(maxSeqLen));
            stderr.WriteLine($"template: {chosen?.Description ?? "chatml (built-in; the model has none)"}");

            var scored = scorer.Score(parse.GetValue(data)!, ct).ToList();
            var lines = scored.Select(Line).ToList();
            if (parse.GetValue(output) is { } file)
            {
                AtomicFile.WriteAllText(file, string.Concat(lines.Select(l => l + "\n")));
                stdout.WriteLine($"wrote {scored.Count} score(s) to {file}");
            }
            else foreach (string line in lines) stdout.WriteLine(line);

            var summary = RewardScorer.Summarize(scored);
            if (summary.Pairs > 0)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"pairs: {summary.Pairs}, pairwise accuracy: {summary.Accuracy:F4} ({summary.Correct}/{summary.Pairs}), mean margin: {summary.MeanMargin:F4}"));
            return 0;
        });
        return cmd;
    }

    static string Line(ScoredExample s) => s.IsPair
        ? JsonSerializer.Serialize(new { source = s.Source.ToString(), chosen = s.Chosen, rejected = s.Rejected, margin = s.Chosen - s.Rejected })
        : JsonSerializer.Serialize(new { source = s.Source.ToString(), score = s.Score });
}
