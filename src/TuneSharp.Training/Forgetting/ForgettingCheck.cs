using TuneSharp.Core.IO;
using TuneSharp.Data.Contamination;
using TuneSharp.Eval;
using TuneSharp.Eval.Tasks;
using TuneSharp.Inference;
using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;

namespace TuneSharp.Training.Forgetting;

/// <summary>
/// The forgetting check, on by default: general benchmarks (<c>eval.benchmarks</c>, default
/// <see cref="DefaultSuite"/>, <c>eval.benchmark_limit</c> items each) run on the model before the first step and on
/// the tuned model at the end, with the same settings (<see cref="EvalRunner"/> in-process, on the live training model:
/// adapters included), then every metric before -> after with its stderr, a warning per metric that dropped beyond
/// <c>eval.forgetting_threshold</c>, and <c>forgetting.md</c> + <c>forgetting.png</c> in the run folder. The scores
/// before are stored in the run folder, so a resumed run compares with the untouched model.
/// </summary>
public sealed class ForgettingCheck
{
    /// <summary>A few hundred multiple-choice items of general knowledge and common sense (with the default limit): a
    /// few minutes on a CPU for a 135M model, seconds for a tiny one.</summary>
    public static readonly IReadOnlyList<string> DefaultSuite = ["arc_easy", "piqa", "hellaswag"];

    readonly IReadOnlyList<string> _specs;
    readonly IReadOnlyList<IEvalTask> _tasks;
    readonly EvalOptions _options;
    readonly string _dir;
    readonly double _threshold;

    ForgettingCheck(IReadOnlyList<string> specs, IReadOnlyList<IEvalTask> tasks, EvalOptions options, string dir, double threshold) =>
        (_specs, _tasks, _options, _dir, _threshold) = (specs, tasks, options, dir, threshold);

    public string BeforePath => Path.Combine(_dir, "benchmarks_before.json");
    public string AfterPath => Path.Combine(_dir, "benchmarks_after.json");
    public string ReportPath => Path.Combine(_dir, "forgetting.md");
    public string ChartPath => Path.Combine(_dir, "forgetting.png");

    /// <summary>
    /// The check of a run, its tasks resolved now (before any training): null with a note when it is off
    /// (<c>eval.benchmarks: []</c>) or when the default suite's data cannot be found (the run goes on); benchmarks the
    /// user named that cannot be found are an error naming the key.
    /// </summary>
    public static ForgettingCheck? For(TrainConfig cfg, string runDirectory, ICollection<string> notes, CancellationToken ct)
    {
        var eval = cfg.Eval;
        bool chosen = eval.Benchmarks is not null;
        IReadOnlyList<string> specs = eval.Benchmarks is { } list ? [.. list] : DefaultSuite;
        if (specs.Count == 0) { notes.Add("forgetting check off (eval.benchmarks: [])"); return null; }
        var options = new EvalOptions { Limit = eval.BenchmarkLimit, DataDir = eval.BenchmarkData, Cancellation = ct };
        try
        {
            var tasks = TaskRegistry.Resolve(specs, options);
            notes.Add($"forgetting check: {string.Join(", ", specs)} ({(eval.BenchmarkLimit is { } n ? $"first {n} items each" : "all items")}) before and after training");
            foreach (string line in Contamination(cfg, tasks, ct)) notes.Add(line);
            return new ForgettingCheck(specs, tasks, options, runDirectory, eval.ForgettingThreshold);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
        {
            if (chosen) throw new ConfigException(new ConfigError("eval.benchmarks", null, null, "eval.benchmarks", $"eval.benchmarks: {e.Message}"));
            notes.Add($"forgetting check skipped: the default suite's data was not found ({e.Message}); set eval.benchmark_data or eval.benchmarks");
            return null;
        }
    }

    /// <summary>Items listed per task in the notes (all are counted).</summary>
    const int ListedHits = 3;

    /// <summary>
    /// The 13-gram contamination check of the training data against the benchmark items the run will be scored on
    /// (<see cref="ContaminationIndex"/>): one line per task with its contaminated items, the first few with the
    /// training file:line where they occur. Scores on contaminated items overstate what the model knows.
    /// </summary>
    public static IReadOnlyList<string> Contamination(TrainConfig cfg, IReadOnlyList<IEvalTask> tasks, CancellationToken ct)
    {
        var items = tasks.SelectMany(t => t.ItemTexts(cfg.Eval.BenchmarkLimit).Select(i => new BenchmarkItem(t.Name, i.Id, i.Text))).ToList();
        if (items.Count == 0) return [];
        var index = new ContaminationIndex(items);
        var specs = cfg.Data.Datasets.Select(d => DataSetup.ToDataSpec(d, cfg.Method.Pretrain.TextSplit))
            .Where(s => File.Exists(s.Path) || Directory.Exists(s.Path));
        int seen = 0;
        foreach (var example in specs.SelectMany(s => Data.DatasetReader.Read(s, new List<Data.DataProblem>()))) // unreadable records: the data setup reports them
        {
            if (++seen % 1024 == 0) ct.ThrowIfCancellationRequested();
            index.Observe(example);
        }
        var report = index.Report();
        var lines = new List<string>();
        foreach (var task in report.Tasks)
        {
            var hits = report.Hits.Where(h => h.Item.Task == task.Task).ToList();
            lines.Add($"contamination ({report.N}-gram overlap with the training data): {task.Task} {task.Contaminated} of {task.Items} item(s)"
                + (task.TooShort > 0 ? $" ({task.TooShort} too short to check)" : "")
                + (hits.Count > 0 ? "; its scores overstate what the model knows" : ""));
            lines.AddRange(hits.Take(ListedHits).Select(h => $"  {task.Task} item {h.Item.Id} at {string.Join(", ", h.Sources)}: \"{h.SharedText}\""));
        }
        return lines;
    }

    /// <summary>Scores the model as it is now (eval mode; the caller's mode is restored) and stores them at <paramref name="path"/>.</summary>
    public BenchmarkScores Measure(TrainableModel model, string path, Action<string>? progress = null)
    {
        bool training = model.Model.training;
        model.Model.eval();
        try
        {
            var stops = StopTokens.Of(GenerationConfig.Load(model.Directory), model.Model.Args, model.Tokenizer);
            var session = new EvalSession(model.Model, model.Tokenizer, stops, _options);
            var scores = BenchmarkScores.From(EvalRunner.Run(session, _tasks, progress: progress), _specs, _options.Limit);
            scores.Save(path);
            return scores;
        }
        finally
        {
            if (training) model.Model.train();
        }
    }

    /// <summary>Before the first step of a fresh run.</summary>
    public BenchmarkScores Before(TrainableModel model, Action<string>? progress = null) => Measure(model, BeforePath, progress);

    /// <summary>At the end: the tuned model's scores against the stored ones, the report files and the warnings.</summary>
    public ForgettingSummary After(TrainableModel model, double? evalLossBefore, double? evalLossAfter, Action<string>? progress = null)
    {
        var after = Measure(model, AfterPath, progress);
        BenchmarkScores? before;
        try { before = BenchmarkScores.Load(BeforePath); }
        catch (InvalidDataException e)
        {
            // The run has trained and saved its outputs: a damaged file costs the comparison, not the run.
            return new ForgettingSummary([], _threshold, [$"forgetting check: {e.Message}; only the scores after were written ({AfterPath})"], null, null);
        }
        if (before is null || !before.SameSettings(after))
            return new ForgettingSummary([], _threshold,
                [$"forgetting check: no scores of the model before training with these settings in {BeforePath}; only the scores after were written ({AfterPath})"], null, null);
        var changes = ForgettingSummary.Compare(before, after);
        var warnings = ForgettingSummary.WarningsFor(changes, _threshold);
        AtomicFile.WriteAllText(ReportPath, ForgettingReport.Markdown(changes, _threshold, warnings, evalLossBefore, evalLossAfter));
        bool chart = ForgettingReport.WriteChart(ChartPath, changes);
        return new ForgettingSummary(changes, _threshold, warnings, ReportPath, chart ? ChartPath : null);
    }
}
