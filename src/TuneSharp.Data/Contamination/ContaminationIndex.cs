namespace TuneSharp.Data.Contamination;

/// <summary>One benchmark item to protect: its task, its id within the task (e.g. the row index) and its text (question,
/// context and answer choices joined as the task presents them).</summary>
public sealed record BenchmarkItem(string Task, string Id, string Text);

/// <summary>A benchmark item found in the training data: where (file:line of the first training examples that share an
/// n-gram with it) and the first shared n-gram's words.</summary>
public sealed record ContaminationHit(BenchmarkItem Item, IReadOnlyList<SourceLocation> Sources, string SharedText);

/// <summary>Per task: items checked, items skipped as too short, items found in the training data.</summary>
public sealed record TaskContamination(string Task, int Items, int TooShort, int Contaminated)
{
    public double Fraction => Items == 0 ? 0 : (double)Contaminated / Items;
}

/// <summary>The outcome of a check: per-task counts and every contaminated item.</summary>
public sealed record ContaminationReport(int N, IReadOnlyList<TaskContamination> Tasks, IReadOnlyList<ContaminationHit> Hits)
{
    public bool Clean => Hits.Count == 0;
}

/// <summary>
/// The 13-gram contamination check (GPT-3 paper, appendix C; lm-evaluation-harness's decontamination): a benchmark item
/// is contaminated when any of its word n-grams (<see cref="NGrams"/>: case and punctuation ignored) also occurs in the
/// training data. Items shorter than n words are matched whole (their full word sequence) when they have at least
/// <c>minWords</c> words, and skipped as too generic below that (counted). Build once from the benchmark items, then
/// stream the training texts through <see cref="Observe"/>: memory is the benchmark's n-grams, not the training data.
/// </summary>
public sealed class ContaminationIndex
{
    readonly int _n, _minWords;
    readonly Dictionary<ulong, List<int>> _grams = [];   // n-gram hash -> items containing it
    readonly HashSet<int> _lengths = [];                 // gram lengths in use: n, and the whole length of each short item
    readonly List<BenchmarkItem> _items = [];
    readonly Dictionary<string, (int Items, int TooShort)> _perTask = new(StringComparer.Ordinal);
    readonly Dictionary<int, (List<SourceLocation> Sources, string Shared)> _hits = [];
    const int MaxSourcesPerItem = 5;

    public ContaminationIndex(IEnumerable<BenchmarkItem> items, int n = 13, int minWords = 8)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n-gram size must be at least 1");
        (_n, _minWords) = (n, Math.Min(minWords, n));
        foreach (var item in items)
        {
            var counts = _perTask.GetValueOrDefault(item.Task);
            var words = NGrams.Words(item.Text);
            int size = words.Count >= n ? n : words.Count;
            if (words.Count < _minWords) { _perTask[item.Task] = (counts.Items + 1, counts.TooShort + 1); continue; }
            _perTask[item.Task] = (counts.Items + 1, counts.TooShort);
            int index = _items.Count;
            _items.Add(item);
            _lengths.Add(size);
            foreach (ulong h in NGrams.Hashes(words, size).Distinct())
            {
                if (!_grams.TryGetValue(h, out var list)) _grams[h] = list = [];
                list.Add(index);
            }
        }
    }

    public int N => _n;

    /// <summary>Checks one training text (e.g. every message of an example joined by newlines) from <paramref name="source"/>.</summary>
    public void Observe(string text, SourceLocation source)
    {
        var words = NGrams.Words(text);
        foreach (int size in _lengths)
            for (int i = 0; i + size <= words.Count; i++)
            {
                if (!_grams.TryGetValue(NGrams.Hash(words, i, size), out var items)) continue;
                foreach (int item in items)
                {
                    if (!_hits.TryGetValue(item, out var hit)) _hits[item] = hit = ([], string.Join(' ', words.Skip(i).Take(size)));
                    if (hit.Sources.Count < MaxSourcesPerItem && !hit.Sources.Contains(source)) hit.Sources.Add(source);
                }
            }
    }

    /// <summary>Every text of a training example: its messages' contents (and tool-call arguments), or its prompt and
    /// completion(s), or its raw text.</summary>
    public void Observe(Example example) => Observe(ExampleText.Of(example), example.Source);

    public ContaminationReport Report()
    {
        var hits = _hits.OrderBy(kv => kv.Key).Select(kv => new ContaminationHit(_items[kv.Key], kv.Value.Sources, kv.Value.Shared)).ToList();
        var contaminated = hits.GroupBy(h => h.Item.Task).ToDictionary(g => g.Key, g => g.Count());
        var tasks = _perTask.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new TaskContamination(kv.Key, kv.Value.Items, kv.Value.TooShort, contaminated.GetValueOrDefault(kv.Key))).ToList();
        return new ContaminationReport(_n, tasks, hits);
    }
}
