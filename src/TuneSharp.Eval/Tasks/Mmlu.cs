using TuneSharp.Eval.Metrics;

namespace TuneSharp.Eval.Tasks;

/// <summary>
/// MMLU from Hendrycks' CSVs (<c>{dev,test}/SUBJECT_{dev,test}.csv</c>, no header: question, A, B, C, D, answer letter),
/// with lm-evaluation-harness's default prompt: the description "The following are multiple choice questions (with
/// answers) about {subject with spaces}.\n\n", each question as "{question.strip()}\nA. ..\nB. ..\nC. ..\nD. ..\nAnswer:",
/// the choices " A".." D", shots from the dev split (first_n). <c>mmlu</c> runs every subject and aggregates acc weighted
/// by subject size (pooled stderr), as the harness's group; <c>mmlu_SUBJECT</c> runs one subject.
/// </summary>
public static class Mmlu
{
    public static readonly string[] Letters = ["A", "B", "C", "D"];

    public static IReadOnlyList<string> Subjects(string root) =>
        Directory.GetFiles(Path.Combine(root, "test"), "*_test.csv").Select(f => Path.GetFileName(f)[..^"_test.csv".Length])
            .Order(StringComparer.Ordinal).ToList();

    public static MultipleChoiceTask Subject(string root, string subject)
    {
        string test = Path.Combine(root, "test", subject + "_test.csv");
        string dev = Path.Combine(root, "dev", subject + "_dev.csv");
        if (!File.Exists(test)) throw new FileNotFoundException($"mmlu subject '{subject}': {test} not found", test);
        return new MultipleChoiceTask("mmlu_" + subject, () => Read(test), [McMetric.Acc])
        {
            Description = $"The following are multiple choice questions (with answers) about {subject.Replace('_', ' ')}.\n\n",
            FewshotDocs = () => Read(dev),
            Definition = new Dictionary<string, object?> { ["dataset_path"] = test, ["fewshot_split"] = dev },
        };
    }

    public static IReadOnlyList<McDoc> Read(string path)
    {
        var docs = new List<McDoc>();
        foreach (var (f, line) in CsvRows.Read(path))
        {
            if (f.Count != 6) throw new InvalidDataException($"{path}:{line}: {f.Count} fields, expected 6 (question, A, B, C, D, answer)");
            int gold = Array.IndexOf(Letters, f[5].Trim());
            if (gold < 0) throw new InvalidDataException($"{path}:{line}: answer '{f[5]}' is not A-D");
            string text = $"{f[0].Trim()}\nA. {f[1]}\nB. {f[2]}\nC. {f[3]}\nD. {f[4]}\nAnswer:";
            docs.Add(new McDoc(text, Letters, gold));
        }
        return docs;
    }
}

/// <summary>The <c>mmlu</c> group: every subject, then acc weighted by subject size with the pooled stderr.</summary>
public sealed class MmluGroup(string root) : IEvalTask
{
    public string Name => "mmlu";

    public IEnumerable<(string Id, string Text)> ItemTexts(int? limit) =>
        Mmlu.Subjects(root).SelectMany(s => ((IEvalTask)Mmlu.Subject(root, s)).ItemTexts(limit).Select(t => ($"{s}/{t.Id}", t.Text)));

    public IReadOnlyList<TaskResult> Run(EvalSession session)
    {
        var subjects = Mmlu.Subjects(root).Select(s => Mmlu.Subject(root, s).Run(session)[0]).ToList();
        var sizes = subjects.Select(r => r.Effective).ToList();
        double mean = Aggregate.WeightedMean(subjects.Select(r => (double)r.Metrics["acc,none"]).ToList(), sizes);
        var stderr = Aggregate.PooledStderr(subjects.Select(r => r.Metrics["acc_stderr,none"] as double?).ToList(), sizes);
        var table = new MetricTable().Add("acc", mean, stderr);
        var group = new TaskResult("mmlu", table.Values, subjects.Sum(r => r.Original), sizes.Sum(), subjects[0].NumFewshot,
            new Dictionary<string, object?> { ["group"] = "mmlu", ["aggregation"] = "mean weighted by size", ["dataset_path"] = root })
        {
            Subtasks = subjects.Select(s => s.Name).ToList(),
            HigherIsBetter = new Dictionary<string, bool> { ["acc"] = true },
        };
        return [group, .. subjects];
    }
}
