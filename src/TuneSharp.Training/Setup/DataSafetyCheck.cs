using TuneSharp.Data.Safety;
using TuneSharp.Training.Config;

namespace TuneSharp.Training.Setup;

/// <summary>
/// The pre-flight safety scan of every run (<c>data.safety_scan</c>): the training and validation files are scanned
/// (docs/safety.md) before the model loads; the findings become start notes, and a finding at or above
/// <c>data.safety_fail_on</c> stops the run with <see cref="DataValidationException"/> listing them. Records that cannot be
/// read are left to the data setup, which reports them with the other data problems.
/// </summary>
public static class DataSafetyCheck
{
    /// <summary>Findings named in the notes (all are counted).</summary>
    const int Listed = 5, ListedOnStop = 20;

    public static IReadOnlyList<string> Run(TrainConfig cfg, CancellationToken ct = default)
    {
        var data = cfg.Data;
        if (!data.SafetyScan) return ["data safety scan: off (data.safety_scan: false)"];
        var specs = data.Datasets.Select(d => DataSetup.ToDataSpec(d, cfg.Method.Pretrain.TextSplit)).ToList();
        if (data.ValPath is { } vp) specs.Add(new Data.DatasetSpec(vp) { TextSplit = cfg.Method.Pretrain.TextSplit });
        specs = [.. specs.Where(s => File.Exists(s.Path) || Directory.Exists(s.Path))];
        var report = SafetyScanner.ScanFiles(specs, new ScanOptions().AllowMore(data.SafetyAllowDomains), ct);

        string counts = string.Join(", ", new[] { Severity.High, Severity.Medium, Severity.Low }
            .Select(s => $"{SeverityNames.Of(s)} {report.Findings.Count(f => f.Severity == s)}"));
        string level = ConfigNames.Of(data.SafetyFailOn);
        if (data.SafetyFailOn != SafetyFailOn.Off && SeverityNames.TryParse(level, out var failOn) && report.CountAtOrAbove(failOn) is int failing and > 0)
        {
            var lines = report.Findings.Where(f => f.Severity >= failOn).Take(ListedOnStop).Select(f => "  " + f);
            string more = failing > ListedOnStop ? $"\n  ... and {failing - ListedOnStop} more" : "";
            throw new DataValidationException(
                $"the training data has {failing} safety finding(s) at or above {level} (data.safety_fail_on):\n{string.Join("\n", lines)}{more}\n" +
                "Inspect them with `tunesharp data scan <file>`; allow trusted domains with data.safety_allow_domains, or set " +
                "data.safety_fail_on: off to train anyway.");
        }
        var notes = new List<string> { $"data safety scan: {report.Examples} examples, {report.Findings.Count} finding(s) ({counts}); stops at {level}" };
        notes.AddRange(report.Findings.Take(Listed).Select(f => $"  safety: {f}"));
        if (report.Findings.Count > Listed) notes.Add($"  ... and {report.Findings.Count - Listed} more (`tunesharp data scan` lists them)");
        return notes;
    }
}
