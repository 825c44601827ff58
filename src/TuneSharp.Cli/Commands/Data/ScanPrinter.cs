using System.Text.Json;
using TuneSharp.Data.Safety;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>Prints a <see cref="ScanReport"/>: each finding (file:line, message index, rule, severity, message, excerpt,
/// hint), then a table of findings by rule and severity; or the same as JSON.</summary>
public static class ScanPrinter
{
    static readonly Severity[] Levels = [Severity.High, Severity.Medium, Severity.Low];

    public static void WriteText(ScanReport report, TextWriter w, Style style, Severity failOn, int listed)
    {
        foreach (var f in report.Findings.Take(listed))
        {
            string msg = f.MessageIndex is int i ? $"msg {i}" : "msg -";
            w.WriteLine($"{f.Source}  {style.Dim(msg)}  {style.Bold(f.Rule)}  {Colored(f.Severity, style)}  {f.Message}");
            w.WriteLine("    " + style.Dim("\"" + f.Excerpt + "\""));
            w.WriteLine("    " + style.Dim("hint: " + f.Hint));
        }
        if (report.Findings.Count > listed) w.WriteLine($"... and {report.Findings.Count - listed} more finding(s) (--max-findings)");
        if (report.Findings.Count > 0) w.WriteLine();
        w.WriteLine($"scanned {report.Examples} example(s) in {report.Paths.Count} path(s): {report.Findings.Count} finding(s) in " +
                    $"{report.FlaggedExamples} example(s)");
        if (report.Findings.Count > 0)
        {
            w.WriteLine($"  {"rule",-18} {"high",6} {"medium",7} {"low",6}");
            foreach (var rule in report.Counts.Select(c => c.Rule).Distinct())
            {
                int Of(Severity s) => report.Counts.FirstOrDefault(c => c.Rule == rule && c.Severity == s).Count;
                w.WriteLine($"  {rule,-18} {Of(Severity.High),6} {Of(Severity.Medium),7} {Of(Severity.Low),6}");
            }
        }
        if (report.Problems.Count > 0)
            w.WriteLine(style.Yellow($"{report.Problems.Count} record(s) could not be read and were not scanned, first: {report.Problems[0]}. " +
                                     "Run `tunesharp data validate` for all problems."));
        int failing = report.CountAtOrAbove(failOn);
        w.WriteLine(failing == 0
            ? style.Green($"no finding at or above {SeverityNames.Of(failOn)}")
            : style.Red($"{failing} finding(s) at or above {SeverityNames.Of(failOn)}"));
    }

    public static void WriteJson(ScanReport report, TextWriter w, Severity failOn)
    {
        using var stream = new MemoryStream();
        using (var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            j.WriteStartObject();
            j.WriteStartArray("paths");
            foreach (var p in report.Paths) j.WriteStringValue(p);
            j.WriteEndArray();
            j.WriteNumber("examples", report.Examples);
            j.WriteNumber("unreadable_records", report.Problems.Count);
            j.WriteString("fail_on", SeverityNames.Of(failOn));
            j.WriteNumber("failing", report.CountAtOrAbove(failOn));
            j.WriteStartObject("counts");
            foreach (var rule in report.Counts.Select(c => c.Rule).Distinct())
            {
                j.WriteStartObject(rule);
                foreach (var s in Levels) j.WriteNumber(SeverityNames.Of(s), report.Counts.FirstOrDefault(c => c.Rule == rule && c.Severity == s).Count);
                j.WriteEndObject();
            }
            j.WriteEndObject();
            j.WriteStartArray("findings");
            foreach (var f in report.Findings)
            {
                j.WriteStartObject();
                j.WriteString("file", f.Source.File);
                j.WriteNumber("line", f.Source.Line);
                if (f.MessageIndex is int i) j.WriteNumber("message_index", i);
                else j.WriteNull("message_index");
                j.WriteString("rule", f.Rule);
                j.WriteString("severity", SeverityNames.Of(f.Severity));
                j.WriteString("message", f.Message);
                j.WriteString("excerpt", f.Excerpt);
                j.WriteString("hint", f.Hint);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        w.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    static string Colored(Severity s, Style style) => s switch
    {
        Severity.High => style.Red("high"),
        Severity.Medium => style.Yellow("medium"),
        _ => "low",
    };
}
