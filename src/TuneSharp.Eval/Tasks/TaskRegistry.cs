using TuneSharp.Eval.Custom;

namespace TuneSharp.Eval.Tasks;

/// <summary>
/// Task names to tasks. A spec is a built-in name (<see cref="BuiltIn"/>), <c>name=PATH</c> to read that task from the
/// user's own file or folder, <c>perplexity=FILE</c> (a .txt document or .jsonl of {"text"}), or a custom task's
/// .yaml file.
/// </summary>
public static class TaskRegistry
{
    /// <summary>Built-in names and their data under the data root.</summary>
    public static readonly IReadOnlyDictionary<string, string> BuiltIn = new Dictionary<string, string>
    {
        ["arc_easy"] = "arc-easy/arc_easy.jsonl",
        ["arc_challenge"] = "arc-challenge/arc_challenge.jsonl",
        ["piqa"] = "piqa/piqa.jsonl",
        ["winogrande"] = "winogrande/winogrande.jsonl",
        ["boolq"] = "boolq/boolq.jsonl",
        ["hellaswag"] = "hellaswag-val/hellaswag_val_full.txt.bz2",
        ["mmlu"] = "mmlu",
        ["truthfulqa_mc1"] = "truthfulqa-mc/mc_task.json",
        ["truthfulqa_mc2"] = "truthfulqa-mc/mc_task.json",
        ["gsm8k"] = "gsm8k-test/test.jsonl",
        ["math500"] = "math500/test.jsonl",
    };

    public static IReadOnlyList<IEvalTask> Resolve(IEnumerable<string> specs, EvalOptions options) =>
        specs.Select(s => Resolve(s.Trim(), options)).ToList();

    public static IEvalTask Resolve(string spec, EvalOptions options)
    {
        if (spec.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || spec.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            return CustomTask.From(CustomTaskFile.Load(spec), options.Graders);
        int eq = spec.IndexOf('=');
        string name = eq < 0 ? spec : spec[..eq];
        string? own = eq < 0 ? null : spec[(eq + 1)..];
        if (name == "perplexity")
            return new PerplexityTask("perplexity", own ?? throw new ArgumentException("perplexity needs a file: --tasks perplexity=FILE"));
        string Path_(string key) => EvalData.Resolve(own, options.DataDir, BuiltIn[key]);
        return name switch
        {
            "arc_easy" or "arc_challenge" => LlmFoundryTasks.Arc(name, Path_(name)),
            "piqa" => LlmFoundryTasks.Piqa(Path_(name)),
            "boolq" => LlmFoundryTasks.BoolQ(Path_(name)),
            "winogrande" => LlmFoundryTasks.Winogrande(Path_(name)),
            "hellaswag" => HellaSwag.Task(Path_(name)),
            "truthfulqa_mc1" => TruthfulQa.Mc1(Path_(name)),
            "truthfulqa_mc2" => TruthfulQa.Mc2(Path_(name)),
            "mmlu" => new MmluGroup(Path_("mmlu")),
            _ when name.StartsWith("mmlu_", StringComparison.Ordinal) => Mmlu.Subject(Path_("mmlu"), name["mmlu_".Length..]),
            "gsm8k" => Gsm8kTask(own, options),
            "math500" => Math500.Task(Path_(name)),
            _ => throw new ArgumentException(
                $"unknown task '{name}' (built in: {string.Join(", ", BuiltIn.Keys)}, mmlu_SUBJECT; or perplexity=FILE, or a task .yaml)"),
        };
    }

    /// <summary>gsm8k's shots come from its train split: train.jsonl beside the test file, else the shared
    /// <c>gsm8k/train.jsonl</c> next to the data root; without either, from the test items (the evaluated one left out).</summary>
    static GenerationTask Gsm8kTask(string? own, EvalOptions options)
    {
        string test = EvalData.Resolve(own, options.DataDir, BuiltIn["gsm8k"]);
        string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(test))!, "train.jsonl");
        string? train = File.Exists(beside) ? beside : null;
        if (train is null && own is null)
        {
            string shared = Path.Combine(EvalData.Root(options.DataDir), "..", "gsm8k", "train.jsonl");
            if (File.Exists(shared)) train = Path.GetFullPath(shared);
        }
        return Gsm8k.Task(test, train);
    }
}
