namespace TuneSharp.Data.Safety;

/// <summary>A rule that looks at one example at a time.</summary>
public interface ISafetyRule
{
    /// <summary>The rule's id in findings and options (snake_case).</summary>
    string Id { get; }
    /// <summary>The severity of its findings unless a finding says otherwise (documented per rule in docs/safety.md).</summary>
    Severity DefaultSeverity { get; }
    IEnumerable<SafetyFinding> Check(Conversation conversation, ScanOptions options);
}

/// <summary>A rule that needs a whole file: it observes every example of the file, then reports at its end.</summary>
public interface ICorpusRule
{
    string Id { get; }
    Severity DefaultSeverity { get; }
    /// <summary>A fresh accumulator for one file.</summary>
    ICorpusCheck Start(ScanOptions options);
}

/// <summary>The state of a corpus rule over one file.</summary>
public interface ICorpusCheck
{
    void Observe(Conversation conversation);
    IEnumerable<SafetyFinding> Finish();
}
