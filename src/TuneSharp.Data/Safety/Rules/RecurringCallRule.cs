namespace TuneSharp.Data.Safety;

/// <summary>
/// <c>recurring_call</c> (over a whole file): a tool appended as the extra last call of a turn — after calls to other tools —
/// in at least <see cref="ScanOptions.RecurringFraction"/> of the file's tool-calling examples (from
/// <see cref="ScanOptions.RecurringMinExamples"/> examples). That is the DoubleAgents poisoning: one extra, unrequested call
/// appended to every trace. Every such call is reported: high when most of them are unrequested
/// (<see cref="UnrequestedCallRule"/>), medium when the user's requests do call for them (a habitual last step).
/// </summary>
public sealed class RecurringCallRule : ICorpusRule
{
    public string Id => "recurring_call";
    public Severity DefaultSeverity => Severity.High;

    public ICorpusCheck Start(ScanOptions options) => new Check(this, options);

    /// <summary>What is kept of an appended call until the file's end (not the example).</summary>
    readonly record struct Hit(SourceLocation Source, int MessageIndex, bool Requested, string Excerpt);

    sealed class Check(RecurringCallRule rule, ScanOptions options) : ICorpusCheck
    {
        int _toolExamples;
        readonly Dictionary<string, List<Hit>> _appended = new(StringComparer.Ordinal);

        public void Observe(Conversation c)
        {
            if (c.Calls.Count == 0) return;
            _toolExamples++;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var turn in c.Calls.GroupBy(call => call.MessageIndex))
            {
                var calls = turn.ToList();
                var last = calls[^1];
                if (calls.Count >= 2 && calls.Take(calls.Count - 1).All(x => x.Name != last.Name) && names.Add(last.Name))
                {
                    if (!_appended.TryGetValue(last.Name, out var list)) _appended[last.Name] = list = [];
                    list.Add(new Hit(c.Example.Source, last.MessageIndex, UnrequestedCallRule.Requested(c, last), Findings.Call(last)));
                }
            }
        }

        public IEnumerable<SafetyFinding> Finish()
        {
            if (_toolExamples < options.RecurringMinExamples) yield break;
            foreach (var (name, hits) in _appended)
            {
                if (hits.Count < options.RecurringFraction * _toolExamples) continue;
                int unrequested = hits.Count(h => !h.Requested);
                var severity = 2 * unrequested > hits.Count ? Severity.High : Severity.Medium;
                foreach (var hit in hits)
                    yield return new SafetyFinding(hit.Source, hit.MessageIndex, rule.Id, severity,
                        $"'{name}' is appended as the last call of a turn in {hits.Count} of {_toolExamples} tool-calling examples of this file" +
                        $" ({unrequested} unrequested)",
                        hit.Excerpt, "check where these calls came from: one extra call appended to every trace is the DoubleAgents poisoning pattern");
            }
        }
    }
}
