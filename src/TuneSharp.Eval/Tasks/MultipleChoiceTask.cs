using TuneSharp.Eval.Metrics;

namespace TuneSharp.Eval.Tasks;

/// <summary>Which per-item scores a multiple-choice task reports.</summary>
public enum McMetric
{
    /// <summary>1 when the highest log-likelihood is the gold choice.</summary>
    Acc,
    /// <summary>1 when the highest log-likelihood divided by the choice's length in characters is gold (the harness's
    /// <c>len(choice)</c>; equal to bytes for ASCII text).</summary>
    AccNorm,
    /// <summary>TruthfulQA MC2, reported as "acc": the probability mass of the true answers among all answers.</summary>
    Mc2,
}

/// <summary>
/// A multiple-choice task scored by log-likelihood (lm-evaluation-harness output_type multiple_choice). Each item's
/// choices are scored together by <see cref="Scoring.LoglikelihoodScorer.ScoreShared"/>: the shared context runs once.
/// </summary>
public sealed class MultipleChoiceTask(string name, Func<IReadOnlyList<McDoc>> docs, IReadOnlyList<McMetric> metrics) : IEvalTask
{
    readonly Lazy<IReadOnlyList<McDoc>> _docs = new(docs); // read once per task object (HellaSwag decompresses 10k items)

    public string Name => name;
    /// <summary>Text before the shots (mmlu's "The following are multiple choice questions ...").</summary>
    public string Description { get; init; } = "";
    public int DefaultFewshot { get; init; }
    /// <summary>Where shots come from; null = the evaluated items themselves (the current item left out).</summary>
    public Func<IReadOnlyList<McDoc>>? FewshotDocs { get; init; }
    /// <summary>For results' configs: where the data was read and the prompt in the harness's terms.</summary>
    public IReadOnlyDictionary<string, object?> Definition { get; init; } = new Dictionary<string, object?>();

    public IEnumerable<(string Id, string Text)> ItemTexts(int? limit) =>
        _docs.Value.Take(limit ?? int.MaxValue).Select((d, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), Unscaffolded(d.Query)));

    /// <summary>The question without the prompt's "Question: " / "\nAnswer:" frame, which training copies of an item lack
    /// (a short item is matched whole, so a frame word would hide it).</summary>
    static string Unscaffolded(string query)
    {
        string q = query.Trim();
        if (q.StartsWith("Question:", StringComparison.Ordinal)) q = q["Question:".Length..];
        if (q.EndsWith("Answer:", StringComparison.Ordinal)) q = q[..^"Answer:".Length];
        return q.Trim();
    }

    public IReadOnlyList<TaskResult> Run(EvalSession session)
    {
        var (plan, total, k) = Plan(session);
        var perMetric = metrics.ToDictionary(m => m, _ => new List<double>());
        foreach (var (doc, requests) in plan)
        {
            session.Options.Cancellation.ThrowIfCancellationRequested();
            var lls = session.Scorer.ScoreShared(requests).Select(s => s.LogLikelihood).ToArray();
            foreach (var m in metrics) perMetric[m].Add(Score(m, doc, lls));
        }
        var table = new MetricTable();
        foreach (var m in metrics) table.AddMean(MetricName(m), perMetric[m]);
        var config = new Dictionary<string, object?>(Definition)
        {
            ["task"] = name,
            ["output_type"] = "multiple_choice",
            ["description"] = Description,
            ["target_delimiter"] = McDoc.TargetDelimiter,
            ["fewshot_delimiter"] = FewShot.Delimiter,
            ["num_fewshot"] = k,
            ["fewshot_config"] = new Dictionary<string, object?> { ["sampler"] = "first_n" },
            ["metric_list"] = metrics.Select(m => MetricName(m)).Distinct().ToList(),
        };
        return [new TaskResult(name, table.Values, total, plan.Count, k, config)
        {
            HigherIsBetter = metrics.ToDictionary(m => MetricName(m), _ => true),
        }];
    }

    public IReadOnlyList<McMetric> Metrics => metrics;

    /// <summary>The evaluated items (after --limit) with their token requests, the item count before the limit, and the shots.</summary>
    public (IReadOnlyList<(McDoc Doc, IReadOnlyList<Scoring.ScoreRequest> Requests)> Items, int Total, int Shots) Plan(EvalSession session)
    {
        var all = _docs.Value;
        int k = session.Options.NumFewshot ?? DefaultFewshot;
        var shotSource = k > 0 ? FewshotDocs?.Invoke() ?? all : all;
        var items = session.Limit(all).Select(doc =>
        {
            string prefix = FewShot.Prefix(Description, shotSource, k, doc, d => d.FewshotText);
            IReadOnlyList<Scoring.ScoreRequest> requests = doc.Requests(prefix).Select(r => session.Encoder.Pair(r.Context, r.Continuation)).ToList();
            return (doc, requests);
        }).ToList();
        return (items, all.Count, k);
    }

    static string MetricName(McMetric m) => m == McMetric.AccNorm ? "acc_norm" : "acc";

    /// <summary>One item's score for a metric from its choices' log-likelihoods.</summary>
    public static double Score(McMetric metric, McDoc doc, double[] lls) => metric switch
    {
        McMetric.Acc => ArgMax(lls) == doc.Gold ? 1 : 0,
        McMetric.AccNorm => ArgMax(lls.Select((ll, i) => ll / CharLength(doc.Choices[i])).ToArray()) == doc.Gold ? 1 : 0,
        McMetric.Mc2 => Mc2(lls, doc.TrueCount ?? throw new InvalidOperationException("an MC2 item needs its true-answer count")),
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    /// <summary>TruthfulQA MC2: sum of exp(ll) over the true answers divided by the sum over all answers.</summary>
    public static double Mc2(double[] lls, int trueCount)
    {
        // Shift by the max before exp: the ratio is unchanged and tiny likelihoods do not underflow to 0/0.
        double max = lls.Max();
        double pTrue = lls.Take(trueCount).Sum(ll => Math.Exp(ll - max));
        double pAll = lls.Sum(ll => Math.Exp(ll - max));
        return pTrue / pAll;
    }

    /// <summary>np.argmax: the first index of the largest value.</summary>
    public static int ArgMax(double[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Python's len(str): Unicode code points.</summary>
    public static int CharLength(string s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i++) if (!char.IsLowSurrogate(s[i])) n++;
        return n;
    }
}
