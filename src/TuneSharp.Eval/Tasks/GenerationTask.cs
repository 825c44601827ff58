using System.Text;
using TuneSharp.Eval.Metrics;
using TuneSharp.Inference;

namespace TuneSharp.Eval.Tasks;

/// <summary>One generation item: its prompt text (doc_to_text), its target (doc_to_target: shots and reference).</summary>
public sealed record GenDoc(string Text, string Target)
{
    /// <summary>The raw record, for templated references and graders of custom tasks.</summary>
    public IReadOnlyDictionary<string, object?> Fields { get; init; } = new Dictionary<string, object?>();
}

/// <summary>A metric of a generation task: its name, filter name and per-item score of a response.</summary>
public sealed record GenScorer(string Metric, string Filter, Func<string, GenDoc, double> Score);

/// <summary>
/// A generation task (lm-evaluation-harness output_type generate_until): greedy generation from the few-shot prompt,
/// cut at the first stop string (or EOS, or the token budget), scored by each <see cref="GenScorer"/> (filter + metric).
/// Prompts longer than the model's length minus the generation budget keep their last tokens, as the harness does.
/// </summary>
public sealed class GenerationTask(string name, Func<IReadOnlyList<GenDoc>> docs, IReadOnlyList<string> until,
    IReadOnlyList<GenScorer> scorers) : IEvalTask
{
    public string Name => name;
    public int DefaultFewshot { get; init; }
    public string Description { get; init; } = "";
    public Func<IReadOnlyList<GenDoc>>? FewshotDocs { get; init; }
    /// <summary>How a shot is written; default "text + ' ' + target".</summary>
    public Func<GenDoc, string> ShotText { get; init; } = d => d.Text + " " + d.Target;
    public IReadOnlyDictionary<string, object?> Definition { get; init; } = new Dictionary<string, object?>();

    public IEnumerable<(string Id, string Text)> ItemTexts(int? limit) =>
        docs().Take(limit ?? int.MaxValue).Select((d, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), d.Text + " " + d.Target));

    /// <summary>The response of every evaluated item, in order (after <see cref="Run"/>), for tests and logs.</summary>
    public IReadOnlyList<string> Responses { get; private set; } = [];

    public IReadOnlyList<TaskResult> Run(EvalSession session)
    {
        var (items, prompts, total, k) = Plan(session);
        Responses = Generate(session, prompts);
        var table = new MetricTable();
        foreach (var s in scorers)
            table.AddMean(s.Metric, items.Select((d, i) => s.Score(Responses[i], d)).ToList(), s.Filter);
        var config = new Dictionary<string, object?>(Definition)
        {
            ["task"] = name,
            ["output_type"] = "generate_until",
            ["num_fewshot"] = k,
            ["target_delimiter"] = " ",
            ["fewshot_delimiter"] = FewShot.Delimiter,
            ["generation_kwargs"] = new Dictionary<string, object?>
            {
                ["until"] = until.ToList(), ["do_sample"] = false, ["temperature"] = 0.0, ["max_gen_toks"] = session.Options.MaxGenTokens,
            },
            ["filter_list"] = scorers.Select(s => s.Filter).Distinct().ToList(),
        };
        return [new TaskResult(name, table.Values, total, items.Count, k, config)
        {
            HigherIsBetter = scorers.Select(s => s.Metric).Distinct().ToDictionary(m => m, _ => true),
        }];
    }

    /// <summary>The evaluated items (after --limit), their prompt token ids (left-truncated to leave room for the
    /// generation budget), the item count before the limit, and the shots.</summary>
    public (IReadOnlyList<GenDoc> Items, IReadOnlyList<int[]> Prompts, int Total, int Shots) Plan(EvalSession session)
    {
        var all = docs();
        var items = session.Limit(all);
        int k = session.Options.NumFewshot ?? DefaultFewshot;
        var shots = k > 0 ? FewshotDocs?.Invoke() ?? all : all;
        int keep = Math.Max(1, session.MaxLength - session.Options.MaxGenTokens);
        var prompts = items.Select(d =>
        {
            var t = session.Encoder.Encode(FewShot.Prefix(Description, shots, k, d, ShotText) + d.Text);
            if (t.Length == 0) t = [session.Encoder.PrefixToken];
            return t.Length > keep ? t[^keep..] : t;
        }).ToList();
        return (items, prompts, all.Count, k);
    }

    List<string> Generate(EvalSession session, IReadOnlyList<int[]> prompts)
    {
        int budget = session.Options.MaxGenTokens;
        var options = new SamplingOptions
        {
            Temperature = 0, MaxNewTokens = budget, StopTokenIds = session.StopTokenIds, StopStrings = until,
        };
        var generator = new Generator(session.Model);
        var responses = new List<string>(prompts.Count);
        foreach (var batch in prompts.Chunk(session.Options.BatchSize))
        {
            session.Options.Cancellation.ThrowIfCancellationRequested();
            responses.AddRange(Decode(session, generator, [.. batch], options));
        }
        return responses;
    }

    /// <summary>Greedy rows, each decoded through its own stream and cut at its first stop string.</summary>
    static IEnumerable<string> Decode(EvalSession session, Generator generator, List<int[]> ids, SamplingOptions options)
    {
        var streams = ids.Select(_ => new TextStream(session.Tokenizer, options.StopStrings)).ToArray();
        var text = ids.Select(_ => new StringBuilder()).ToArray();
        var done = new bool[ids.Count];
        foreach (var step in generator.Generate(ids, options))
        {
            for (int r = 0; r < step.Length; r++)
            {
                if (done[r]) continue;
                if (step[r] is not { } token) { done[r] = true; continue; }
                text[r].Append(streams[r].Push(token));
                if (streams[r].Stopped) done[r] = true;
            }
            if (done.All(d => d)) break;
        }
        for (int r = 0; r < ids.Count; r++)
            if (!streams[r].Stopped) text[r].Append(streams[r].Finish());
        return text.Select(t => t.ToString());
    }
}
