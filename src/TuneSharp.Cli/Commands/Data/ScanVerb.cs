using System.CommandLine;
using TuneSharp.Data;
using TuneSharp.Data.Safety;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>
/// `tunesharp data scan FILE... [--fail-on low|medium|high] [--json] [--allow-domain d ...]`: the training-data
/// safety scan (docs/safety.md). Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 usage error, 130/143
/// interrupted.
/// </summary>
public static class ScanVerb
{
    public const int Clean = 0, Findings = 1;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var paths = new Argument<string[]>("paths") { Description = "Dataset files or folders.", Arity = ArgumentArity.OneOrMore };
        var failOn = new Option<string>("--fail-on") { Description = "Exit 1 when a finding of this severity or above exists: low, medium, high.", DefaultValueFactory = _ => "high" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var allow = new Option<string[]>("--allow-domain") { Description = "A domain tool calls may reach (and its subdomains); repeatable.", AllowMultipleArgumentsPerToken = true };
        var skip = new Option<string[]>("--skip-rule") { Description = "A rule id not to run; repeatable.", AllowMultipleArgumentsPerToken = true };
        var recordFormat = new Option<string?>("--format", "-f") { Description = "Record format: auto, openai, sharegpt, alpaca, completion, text, preference, kto." };
        var maxFindings = new Option<int>("--max-findings") { Description = "Findings listed in text output (all are counted).", DefaultValueFactory = _ => 200 };
        var color = new Option<string>("--color") { Description = "auto (only on a terminal), always, never.", DefaultValueFactory = _ => "auto" };
        failOn.AcceptOnlyFromAmong("low", "medium", "high");
        color.AcceptOnlyFromAmong("auto", "always", "never");
        var cmd = new Command("scan", "Safety scan: poisoned tool calls, exfiltration, injected scripts and prompts, secrets, personal data.")
        {
            paths, failOn, json, allow, skip, recordFormat, maxFindings, color,
        };
        cmd.SetAction((parse, ct) => DataInputs.Guard(stderr, () =>
        {
            var specs = parse.GetValue(paths)!.Select(p => DataInputs.Spec(p, parse.GetValue(recordFormat))).ToList();
            SeverityNames.TryParse(parse.GetValue(failOn)!, out var level);
            var skipped = parse.GetValue(skip) ?? [];
            if (skipped.FirstOrDefault(r => !SafetyScanner.RuleIds.Contains(r)) is { } unknown)
                throw new UsageException($"--skip-rule: unknown rule '{unknown}'; rules: {string.Join(", ", SafetyScanner.RuleIds)}");
            int listed = parse.GetValue(maxFindings) is int m and >= 0 ? m : throw new UsageException("--max-findings must be >= 0");
            var options = new ScanOptions { DisabledRules = skipped }.AllowMore(parse.GetValue(allow) ?? []);
            var report = SafetyScanner.ScanFiles(specs, options, ct);
            if (parse.GetValue(json)) ScanPrinter.WriteJson(report, stdout, level);
            else ScanPrinter.WriteText(report, stdout, Style.For(parse.GetValue(color)!, stdout), level, listed);
            return Task.FromResult(report.CountAtOrAbove(level) > 0 ? Findings : Clean);
        }));
        return cmd;
    }
}
