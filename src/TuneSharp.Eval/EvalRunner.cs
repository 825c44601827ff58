using System.Diagnostics;
using TuneSharp.Eval.Results;
using TuneSharp.Eval.Tasks;
using TuneSharp.Inference;

namespace TuneSharp.Eval;

/// <summary>
/// Runs benchmark tasks on a loaded model: <c>EvalRunner.Run(bundle, tasks, options)</c>. No console, no files: the CLI
/// prints and writes the results; a training run can call this in-process before and after training.
/// </summary>
public static class EvalRunner
{
    public static EvalResults Run(ModelBundle bundle, IReadOnlyList<string> taskSpecs, EvalOptions options,
        Action<string>? progress = null) =>
        Run(bundle, TaskRegistry.Resolve(taskSpecs, options), options, progress);

    public static EvalResults Run(ModelBundle bundle, IReadOnlyList<IEvalTask> tasks, EvalOptions options,
        Action<string>? progress = null)
    {
        var session = new EvalSession(bundle.Model, bundle.Tokenizer, bundle.StopTokenIds, options);
        var config = new Dictionary<string, object?>
        {
            ["model"] = bundle.Directory,
            ["adapter"] = bundle.AdapterDirectory,
            ["dtype"] = bundle.Model.DType.ToString(),
        };
        return Run(session, tasks, config, progress);
    }

    public static EvalResults Run(EvalSession session, IReadOnlyList<IEvalTask> tasks,
        IReadOnlyDictionary<string, object?>? modelConfig = null, Action<string>? progress = null)
    {
        if (tasks.Count == 0) throw new ArgumentException("no tasks to run");
        var clock = Stopwatch.StartNew();
        long tokens0 = session.Scorer.ForwardedTokens, forwards0 = session.Scorer.Forwards;
        var results = new List<TaskResult>();
        foreach (var task in tasks)
        {
            progress?.Invoke($"running {task.Name}");
            var taskClock = Stopwatch.StartNew();
            var r = task.Run(session);
            results.AddRange(r);
            progress?.Invoke($"{task.Name}: {r[0].Effective} items in {taskClock.Elapsed.TotalSeconds:F1} s");
        }
        var o = session.Options;
        var config = new Dictionary<string, object?>(modelConfig ?? new Dictionary<string, object?>())
        {
            ["limit"] = o.Limit,
            ["num_fewshot"] = o.NumFewshot,
            ["batch_size"] = o.BatchSize,
            ["add_bos_token"] = o.AddBos,
            ["max_length"] = session.MaxLength,
            ["max_gen_toks"] = o.MaxGenTokens,
        };
        return new EvalResults(results, config, session.Scorer.ForwardedTokens - tokens0, session.Scorer.Forwards - forwards0, clock.Elapsed);
    }
}
