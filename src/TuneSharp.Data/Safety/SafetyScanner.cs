namespace TuneSharp.Data.Safety;

/// <summary>
/// Scans training examples for poisoned tool use, prompt injection, secrets and personal data (docs/safety.md). Torch-free;
/// streams the examples (only the corpus rules keep a little per-call state until the end of each file).
/// </summary>
public static class SafetyScanner
{
    /// <summary>The rules of one example, in report order.</summary>
    public static IReadOnlyList<ISafetyRule> Rules { get; } =
    [
        new UndeclaredToolRule(), new UntrustedUrlRule(), new CodeInjectionRule(), new ExfiltrationRule(), new UnrequestedCallRule(),
        new PromptInjectionRule(), new SecretRule(), new PersonalDataRule(),
    ];

    /// <summary>The rules over a whole file.</summary>
    public static IReadOnlyList<ICorpusRule> CorpusRules { get; } = [new RecurringCallRule()];

    /// <summary>Every rule id, for options and documentation.</summary>
    public static IReadOnlyList<string> RuleIds { get; } = [.. Rules.Select(r => r.Id), .. CorpusRules.Select(r => r.Id)];

    /// <summary>The findings of one example (corpus rules need a file and are not run).</summary>
    public static IEnumerable<SafetyFinding> Scan(Example example, ScanOptions? options = null)
    {
        options ??= new ScanOptions();
        var c = new Conversation(example);
        return Rules.Where(r => Enabled(r.Id, options)).SelectMany(r => r.Check(c, options)).Where(f => f.Severity >= options.MinSeverity);
    }

    /// <summary>The findings of every example, then each file's corpus findings once its last example has been read.</summary>
    public static IEnumerable<SafetyFinding> Scan(IEnumerable<Example> examples, ScanOptions? options = null)
    {
        options ??= new ScanOptions();
        var corpus = CorpusRules.Where(r => Enabled(r.Id, options)).ToList();
        string? file = null;
        List<ICorpusCheck> checks = [];
        foreach (var example in examples)
        {
            if (example.Source.File != file)
            {
                foreach (var f in Finish(checks, options)) yield return f;
                file = example.Source.File;
                checks = [.. corpus.Select(r => r.Start(options))];
            }
            var c = new Conversation(example);
            foreach (var check in checks) check.Observe(c);
            foreach (var rule in Rules)
                if (Enabled(rule.Id, options))
                    foreach (var f in rule.Check(c, options))
                        if (f.Severity >= options.MinSeverity) yield return f;
        }
        foreach (var f in Finish(checks, options)) yield return f;
    }

    /// <summary>Reads each dataset with the readers of <see cref="DatasetReader"/> (records that cannot be read are kept as
    /// problems and skipped) and scans it.</summary>
    public static ScanReport ScanFiles(IEnumerable<DatasetSpec> specs, ScanOptions? options = null, CancellationToken ct = default)
    {
        var findings = new List<SafetyFinding>();
        var problems = new List<DataProblem>();
        var paths = new List<string>();
        long examples = 0;
        foreach (var spec in specs)
        {
            paths.Add(spec.Path);
            var read = DatasetReader.Read(spec, problems).Select(e =>
            {
                if (++examples % 256 == 0) ct.ThrowIfCancellationRequested();
                return e;
            });
            findings.AddRange(Scan(read, options));
        }
        return new ScanReport(paths, examples, Order(findings), problems);
    }

    /// <summary>Findings by file, line, message and rule order.</summary>
    public static IReadOnlyList<SafetyFinding> Order(IEnumerable<SafetyFinding> findings)
    {
        var rank = RuleIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        return [.. findings.OrderBy(f => f.Source.File, StringComparer.Ordinal).ThenBy(f => f.Source.Line)
            .ThenBy(f => f.MessageIndex ?? -1).ThenBy(f => rank.GetValueOrDefault(f.Rule))];
    }

    static IEnumerable<SafetyFinding> Finish(List<ICorpusCheck> checks, ScanOptions options) =>
        checks.SelectMany(c => c.Finish()).Where(f => f.Severity >= options.MinSeverity);

    static bool Enabled(string id, ScanOptions options) => !options.DisabledRules.Contains(id);
}

/// <summary>What <see cref="SafetyScanner.ScanFiles"/> found: the findings in order, the examples scanned and the records
/// that could not be read.</summary>
public sealed record ScanReport(IReadOnlyList<string> Paths, long Examples, IReadOnlyList<SafetyFinding> Findings, IReadOnlyList<DataProblem> Problems)
{
    /// <summary>Findings per rule and severity, rules in <see cref="SafetyScanner.RuleIds"/> order.</summary>
    public IReadOnlyList<(string Rule, Severity Severity, int Count)> Counts =>
        [.. Findings.GroupBy(f => (f.Rule, f.Severity)).Select(g => (g.Key.Rule, g.Key.Severity, g.Count()))
            .OrderBy(c => SafetyScanner.RuleIds.ToList().IndexOf(c.Rule)).ThenByDescending(c => c.Severity)];

    public int CountAtOrAbove(Severity level) => Findings.Count(f => f.Severity >= level);

    /// <summary>Examples with at least one finding.</summary>
    public int FlaggedExamples => Findings.Select(f => f.Source).Distinct().Count();
}
