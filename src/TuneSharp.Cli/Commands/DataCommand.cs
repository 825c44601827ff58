using System.CommandLine;
using TuneSharp.Cli.Commands.Data;
using TuneSharp.Data;
using TuneSharp.Data.Encoding;

namespace TuneSharp.Cli.Commands;

/// <summary>
/// `tunesharp data validate` (problems + statistics of a whole dataset), `tunesharp data preview` (the first samples
/// rendered with the trained tokens marked) and `tunesharp data scan` (the safety scan, <see cref="ScanVerb"/>). Exit codes: 0 valid, 1 problems found or nothing left to train on (or a
/// file that exists could not be used), 2 usage error, 130/143 interrupted. See docs/cli/data.md.
/// </summary>
public static class DataCommand
{
    public const int Valid = 0, ProblemsFound = 1, UsageError = CliApp.UsageError;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("data", "Check and inspect training data.");
        cmd.Subcommands.Add(Validate(stdout, stderr));
        cmd.Subcommands.Add(Preview(stdout, stderr));
        cmd.Subcommands.Add(ScanVerb.Create(stdout, stderr));
        return cmd;
    }

    /// <summary>Options both verbs take.</summary>
    sealed class Common
    {
        public readonly Argument<string> Path = new("path") { Description = "Dataset file (.jsonl, .json, .csv, .parquet, .txt, .gz) or folder." };
        public readonly Option<string?> Format = new("--format", "-f") { Description = "Record format: auto, openai, sharegpt, alpaca, completion, text, preference, kto (default: detect per record)." };
        public readonly Option<string?> Template = new("--template") { Description = "Chat template: auto (the model's), chatml, llama3, mistral, alpaca, plain, or a .jinja file." };
        public readonly Option<int> MaxSeqLen = new("--max-seq-len") { Description = "Tokens per example; longer ones are truncated.", DefaultValueFactory = _ => 1024 };
        public readonly Option<string> TrainOn = new("--train-on") { Description = "Tokens with loss: assistant, all, last_assistant.", DefaultValueFactory = _ => "assistant" };
        public readonly Option<string> Color = new("--color") { Description = "auto (only on a terminal), always, never.", DefaultValueFactory = _ => "auto" };

        public Common() => Color.AcceptOnlyFromAmong("auto", "always", "never");

        public void AddTo(Command cmd)
        {
            cmd.Arguments.Add(Path);
            foreach (var o in new Option[] { Format, Template, MaxSeqLen, TrainOn, Color }) cmd.Options.Add(o);
        }

        public int SeqLen(ParseResult parse) => parse.GetValue(MaxSeqLen) is int n and >= 2 ? n : throw new UsageException("--max-seq-len must be >= 2");
    }

    static Command Validate(TextWriter stdout, TextWriter stderr)
    {
        var common = new Common();
        var model = new Option<string?>("--model", "-m") { Description = "Model or tokenizer folder, or hub id: counts tokens (otherwise characters)." };
        var microBatch = new Option<int>("--micro-batch") { Description = "Examples per batch for the padding estimate.", DefaultValueFactory = _ => 4 };
        var maxProblems = new Option<int>("--max-problems") { Description = "Problems listed (all are counted).", DefaultValueFactory = _ => 50 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var cmd = new Command("validate", "Scan a whole dataset: every problem (file:line, field, code, hint), then statistics.")
        {
            model, microBatch, maxProblems, json,
        };
        common.AddTo(cmd);
        cmd.SetAction((parse, ct) => DataInputs.Guard(stderr, async () =>
        {
            var spec = DataInputs.Spec(parse.GetValue(common.Path)!, parse.GetValue(common.Format));
            int batch = parse.GetValue(microBatch) is int b and >= 1 ? b : throw new UsageException("--micro-batch must be >= 1");
            int listed = parse.GetValue(maxProblems) is int m and >= 0 ? m : throw new UsageException("--max-problems must be >= 0");
            DataInspector.TokenOptions? tokens = null;
            if (parse.GetValue(model) is { } modelName)
            {
                var context = await DataInputs.LoadTokenizerAsync(modelName, parse.GetValue(common.Template), stderr, ct);
                tokens = new(context, common.SeqLen(parse), DataInputs.ParseTrainOn(parse.GetValue(common.TrainOn)!), batch);
            }
            var report = DataInspector.Inspect(spec, listed, tokens, ct);
            if (parse.GetValue(json)) ValidatePrinter.WriteJson(report, stdout);
            else ValidatePrinter.WriteText(report, stdout, Style.For(parse.GetValue(common.Color)!, stdout));
            return report.IsValid ? Valid : ProblemsFound;
        }));
        return cmd;
    }

    static Command Preview(TextWriter stdout, TextWriter stderr)
    {
        var common = new Common();
        var model = new Option<string>("--model", "-m") { Description = "Model or tokenizer folder, or hub id.", Required = true };
        var count = new Option<int>("--num", "-n") { Description = "Samples to show.", DefaultValueFactory = _ => 3 };
        var tokens = new Option<bool>("--tokens") { Description = "Also print each token: position, id, trained flag, vocabulary piece." };
        var cmd = new Command("preview", "Show the first samples as the model sees them, with the trained tokens marked.") { model, count, tokens };
        common.AddTo(cmd);
        cmd.SetAction((parse, ct) => DataInputs.Guard(stderr, async () =>
        {
            var spec = DataInputs.Spec(parse.GetValue(common.Path)!, parse.GetValue(common.Format));
            int n = parse.GetValue(count) is int c and >= 1 ? c : throw new UsageException("-n must be >= 1");
            var settings = new EncodingSettings(common.SeqLen(parse), DataInputs.ParseTrainOn(parse.GetValue(common.TrainOn)!));
            var context = await DataInputs.LoadTokenizerAsync(parse.GetValue(model)!, parse.GetValue(common.Template), stderr, ct);

            var skipped = new List<DataProblem>();
            var examples = DatasetReader.Read(spec, skipped).Take(n).ToList();
            var (template, description) = context.Template(required: examples.Any(e => e is not (CompletionExample or TextExample)));
            var encoder = new ExampleEncoder(context.Tokenizer, template, settings);
            var style = Style.For(parse.GetValue(common.Color)!, stdout);
            PreviewPrinter.Write(stdout, style, encoder, description, examples, parse.GetValue(tokens));
            if (skipped.Count > 0)
                stdout.WriteLine(style.Yellow($"\nskipped {skipped.Count} bad record(s) on the way, first: {skipped[0]}. " +
                    "Run `tunesharp data validate` for all problems."));
            if (examples.Count == 0) stdout.WriteLine("no examples");
            return examples.Count == 0 ? ProblemsFound : Valid;
        }));
        return cmd;
    }
}
