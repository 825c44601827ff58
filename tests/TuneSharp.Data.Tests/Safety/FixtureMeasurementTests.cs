using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Data.Safety;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests.Safety;

/// <summary>
/// The numbers of docs/safety.md: precision and recall per rule on the committed poisoned files (labels.jsonl, written by
/// tools/safety/make_poisoned.py), findings on the clean tool-calling fixtures, and injection recall on BIPIA's attacks.
/// Measured per example line: a line counts for a rule when the rule reports at least one finding on it.
/// </summary>
public class FixtureMeasurementTests(ITestOutputHelper output)
{
    static readonly string[] PoisonedFiles = ["poisoned_glaive.jsonl", "poisoned_openai.jsonl", "doubleagents_glaive.jsonl"];
    const double RecallFloor = 0.95, PrecisionFloor = 0.9;

    static ScanReport ScanFile(string path) => SafetyScanner.ScanFiles([new DatasetSpec(path)]);

    [Fact]
    public void PoisonedFiles_EveryRule_MeetsThePrecisionAndRecallFloors()
    {
        var expected = new Dictionary<(string, long), HashSet<string>>();
        foreach (var line in File.ReadLines(Fixtures.Repo("safety/labels.jsonl")))
        {
            var l = JsonNode.Parse(line)!;
            expected[(l["file"]!.GetValue<string>(), l["line"]!.GetValue<long>())] = [.. l["rules"]!.AsArray().Select(r => r!.GetValue<string>())];
        }
        var flagged = expected.Keys.ToDictionary(k => k, _ => new HashSet<string>());
        foreach (string file in PoisonedFiles)
        {
            var report = ScanFile(Fixtures.Repo("safety/" + file));
            Assert.Empty(report.Problems);
            Assert.Equal(expected.Keys.Count(k => k.Item1 == file), report.Examples);
            foreach (var f in report.Findings) flagged[(file, f.Source.Line)].Add(f.Rule);
        }
        foreach (string rule in SafetyScanner.RuleIds)
        {
            int tp = expected.Count(e => e.Value.Contains(rule) && flagged[e.Key].Contains(rule));
            int fn = expected.Count(e => e.Value.Contains(rule) && !flagged[e.Key].Contains(rule));
            int fp = expected.Count(e => !e.Value.Contains(rule) && flagged[e.Key].Contains(rule));
            double recall = (double)tp / (tp + fn), precision = tp + fp == 0 ? 1 : (double)tp / (tp + fp);
            output.WriteLine($"{rule,-18} positives {tp + fn,3}  tp {tp,3}  fn {fn,2}  fp {fp,2}  recall {recall:F3}  precision {precision:F3}");
            Assert.True(tp + fn >= 5, $"{rule}: only {tp + fn} labelled lines");
            Assert.True(recall >= RecallFloor, $"{rule}: recall {recall:F3} < {RecallFloor}");
            Assert.True(precision >= PrecisionFloor, $"{rule}: precision {precision:F3} < {PrecisionFloor}");
        }
    }

    /// <summary>Ceilings on findings per rule in clean data: none for the tool-use and injection rules but
    /// <paramref name="maxUnrequested"/> unrequested calls; the personal data found is real (e-mail addresses in the
    /// conversations) and stays low severity.</summary>
    static void AssertClean(ScanReport report, string name, int maxPersonalData, int maxSecrets, int maxUnrequested = 0)
    {
        foreach (var (rule, severity, count) in report.Counts) output_?.WriteLine($"{name}: {rule} {SeverityNames.Of(severity)} {count}");
        foreach (var f in report.Findings.Where(f => f.Rule == "unrequested_call")) output_?.WriteLine("  " + f);
        Assert.DoesNotContain(report.Findings, f => f.Rule is not ("personal_data" or "secret" or "unrequested_call"));
        Assert.True(report.Findings.Count(f => f.Rule == "unrequested_call") <= maxUnrequested, $"{name}: unrequested_call");
        Assert.True(report.Findings.Count(f => f.Rule == "personal_data") <= maxPersonalData, $"{name}: personal_data");
        Assert.DoesNotContain(report.Findings, f => f.Rule == "personal_data" && f.Severity > Severity.Low);
        Assert.True(report.Findings.Count(f => f.Rule == "secret") <= maxSecrets, $"{name}: secret");
        Assert.Equal(0, report.CountAtOrAbove(Severity.High));
    }

    static ITestOutputHelper? output_;

    [Fact]
    public void CleanGlaive_NoToolOrInjectionFinding_AndFastEnough()
    {
        output_ = output;
        string path = Fixtures.Get("datasets/llamafactory-demo/glaive_toolcall_en_demo.json");
        ScanFile(path); // warm-up (regex construction, JIT)
        var clock = Stopwatch.StartNew();
        var report = ScanFile(path);
        output.WriteLine($"glaive: {report.Examples} examples scanned in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(300, report.Examples);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"scan took {clock.Elapsed}");
        AssertClean(report, "glaive", maxPersonalData: 30, maxSecrets: 0);
    }

    [Fact]
    public void CleanReasonToolUse_NoToolOrInjectionFinding()
    {
        output_ = output;
        var report = ScanFile(Fixtures.Repo("safety/clean_reason_tool_use.jsonl"));
        Assert.Equal(50, report.Examples);
        AssertClean(report, "reason_tool_use", maxPersonalData: 20, maxSecrets: 0);
    }

    [Fact]
    public void CleanBfcl_WithItsGroundTruthCalls_NoToolOrInjectionFinding()
    {
        output_ = output;
        var examples = new List<Example>();
        foreach (var category in new[] { "simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance" })
            examples.AddRange(Bfcl(category));
        Assert.Equal(1240, examples.Count);
        var findings = SafetyScanner.Scan(examples).ToList();
        var report = new ScanReport(["bfcl"], examples.Count, findings, []);
        AssertClean(report, "bfcl", maxPersonalData: 30, maxSecrets: 0, maxUnrequested: 5);
    }

    /// <summary>A BFCL v4 category as chat examples: the question, one assistant turn with the ground-truth calls (the first
    /// accepted value of each argument, optional ones left out), the functions as tools.</summary>
    static IEnumerable<Example> Bfcl(string category)
    {
        string dir = Fixtures.Get("datasets/tools/bfcl-v4");
        string answers = Path.Combine(dir, "possible_answer", $"BFCL_v4_{category}.json");
        var truth = File.Exists(answers)
            ? File.ReadLines(answers).Select(l => JsonNode.Parse(l)!).ToDictionary(n => n["id"]!.GetValue<string>(), n => n["ground_truth"]!.AsArray())
            : [];
        long line = 0;
        foreach (var text in File.ReadLines(Path.Combine(dir, $"BFCL_v4_{category}.json")))
        {
            var rec = JsonNode.Parse(text)!;
            var messages = rec["question"]![0]!.AsArray().Select(m => new ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
            var calls = new JsonArray();
            foreach (var call in truth.GetValueOrDefault(rec["id"]!.GetValue<string>()) ?? [])
                foreach (var (name, args) in call!.AsObject())
                {
                    var arguments = new JsonObject();
                    foreach (var (key, accepted) in args!.AsObject())
                        if (accepted!.AsArray().FirstOrDefault() is { } v && !(v is JsonValue s && s.TryGetValue<string>(out var str) && str.Length == 0))
                            arguments[key] = v.DeepClone();
                    calls.Add(new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments } });
                }
            messages.Add(calls.Count > 0 ? new ChatMessage("assistant", null) { ToolCalls = calls } : new ChatMessage("assistant", "I cannot help with that."));
            var tools = new JsonArray([.. rec["function"]!.AsArray().Select(f => (JsonNode)new JsonObject { ["type"] = "function", ["function"] = f!.DeepClone() })]);
            yield return new ChatExample(new SourceLocation($"BFCL_v4_{category}.json", ++line), messages, tools);
        }
    }

    /// <summary>BIPIA's attack texts placed at the end of a tool result (an e-mail, as BIPIA's email task does). The code
    /// attacks all tell the assistant what to put in its answer; five of the fifteen text categories are plain tasks
    /// ("Recommend a good book ...") with no phrasing that marks them as addressed to the assistant.</summary>
    [Theory]
    [InlineData("text_attack_test.json", 0.6)]
    [InlineData("code_attack_test.json", 0.95)]
    public void BipiaAttacks_InToolResults_AreFound(string file, double recallFloor)
    {
        var attacks = JsonNode.Parse(File.ReadAllText(Fixtures.Get("datasets/safety/bipia/" + file)))!.AsObject();
        string email = JsonNode.Parse(File.ReadLines(Fixtures.Get("datasets/safety/bipia/email/test.jsonl")).First())!["context"]!.GetValue<string>();
        int found = 0, total = 0;
        foreach (var (category, texts) in attacks)
        {
            int hit = 0;
            foreach (var attack in texts!.AsArray())
            {
                total++;
                if (Found(email + "\n" + attack!.GetValue<string>())) { found++; hit++; }
            }
            output.WriteLine($"{category,-45} {hit}/{texts.AsArray().Count}");
        }
        double recall = (double)found / total;
        output.WriteLine($"{file}: {found}/{total} = {recall:F3}");
        Assert.True(recall >= recallFloor, $"recall {recall:F3} < {recallFloor}");
    }

    [Fact]
    public void BipiaAndAgentDojoContexts_WithoutAttacks_AreNotInjection()
    {
        var contexts = new List<string>();
        foreach (var task in new[] { "email", "table" })
            contexts.AddRange(File.ReadLines(Fixtures.Get($"datasets/safety/bipia/{task}/test.jsonl")).Select(l => JsonNode.Parse(l)!["context"]!.GetValue<string>()));
        foreach (var l in File.ReadLines(Fixtures.Get("datasets/safety/bipia/code/test.jsonl")))
        {
            var rec = JsonNode.Parse(l)!;
            contexts.Add(string.Join("\n", rec["context"] is JsonArray a ? a.Select(x => x!.ToString()) : [rec["context"]!.ToString()]));
        }
        foreach (var yaml in Directory.EnumerateFiles(Fixtures.Get("datasets/safety/agentdojo-suites/suites"), "*.yaml", SearchOption.AllDirectories))
        {
            var lines = System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(yaml), @"\{injection_[a-z_0-9]+\}", "").Split('\n');
            contexts.AddRange(lines.Chunk(30).Select(c => string.Join("\n", c)));
        }
        var hits = contexts.Where(Found).ToList();
        output.WriteLine($"{hits.Count} of {contexts.Count} clean contexts flagged");
        foreach (var hit in hits) output.WriteLine("  " + Injection(hit).First());
        Assert.True(hits.Count <= 2, $"{hits.Count} clean contexts flagged, first: {hits.FirstOrDefault()?[..Math.Min(200, hits[0].Length)]}");
    }

    static bool Found(string toolResult) => Injection(toolResult).Any();

    static IEnumerable<string> Injection(string toolResult)
    {
        var example = new ChatExample(new SourceLocation("bipia", 1),
        [
            new ChatMessage("user", "Summarize my latest email."),
            new ChatMessage("assistant", null) { ToolCalls = JsonNode.Parse("""[{"type": "function", "function": {"name": "read_email", "arguments": {}}}]""")!.AsArray() },
            new ChatMessage("tool", toolResult),
            new ChatMessage("assistant", "Here is the summary."),
        ]);
        return SafetyScanner.Scan(example).Where(f => f.Rule == "prompt_injection").Select(f => $"{f.Message}: {f.Excerpt}");
    }
}
