using System.Text;
using System.Text.RegularExpressions;
using TuneSharp.Eval.Metrics;
using TuneSharp.Eval.Scoring;

namespace TuneSharp.Eval.Tasks;

/// <summary>
/// Perplexity of documents (lm-evaluation-harness's loglikelihood_rolling, as its wikitext task): each document's tokens
/// are scored in disjoint windows of the model's length (<see cref="RollingWindows"/>); the log-likelihoods are summed
/// over all documents and divided by their tokens, words (<c>re.split(r"\s+", doc)</c> pieces) or UTF-8 bytes:
/// token_perplexity, word_perplexity, byte_perplexity = exp(-sum / count), bits_per_byte = -sum / bytes / ln 2.
/// A .txt file is one document; a .jsonl file holds one document per line in its "text" field. No stderr (the harness
/// bootstraps these; "N/A" here).
/// </summary>
public sealed partial class PerplexityTask(string name, string path, Func<IReadOnlyList<string>>? documents = null) : IEvalTask
{
    public string Name => name;

    public static IReadOnlyList<string> Documents(string path) =>
        path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? JsonLines.Read(path).Select((row, i) => row.Str("text", path, i)).ToList()
            : [File.ReadAllText(path)];

    public IReadOnlyList<TaskResult> Run(EvalSession session)
    {
        var all = documents?.Invoke() ?? Documents(path);
        var docs = session.Limit(all);
        double ll = 0;
        long tokens = 0, words = 0, bytes = 0;
        foreach (var doc in docs)
        {
            session.Options.Cancellation.ThrowIfCancellationRequested();
            var ids = session.Encoder.Encode(doc);
            var windows = RollingWindows.Of(ids, session.Encoder.PrefixToken, session.MaxLength);
            ll += session.Scorer.ScoreIndependent(windows, session.Options.BatchSize).Sum(s => s.LogLikelihood);
            tokens += ids.Length;
            words += Whitespace().Split(doc).Length;
            bytes += Encoding.UTF8.GetByteCount(doc);
        }
        var table = new MetricTable()
            .Add("token_perplexity", Math.Exp(-ll / tokens), null)
            .Add("word_perplexity", Math.Exp(-ll / words), null)
            .Add("byte_perplexity", Math.Exp(-ll / bytes), null)
            .Add("bits_per_byte", -ll / bytes / Math.Log(2), null);
        var config = new Dictionary<string, object?>
        {
            ["task"] = name, ["dataset_path"] = path, ["output_type"] = "loglikelihood_rolling", ["num_fewshot"] = 0,
            ["max_length"] = session.MaxLength, ["tokens"] = tokens, ["words"] = words, ["bytes"] = bytes,
        };
        return [new TaskResult(name, table.Values, all.Count, docs.Count, 0, config)
        {
            HigherIsBetter = new Dictionary<string, bool>
            {
                ["token_perplexity"] = false, ["word_perplexity"] = false, ["byte_perplexity"] = false, ["bits_per_byte"] = false,
            },
        }];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
