using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using TuneSharp.Data.Templates;
using TuneSharp.Eval.Metrics;
using TuneSharp.Eval.Tasks;

namespace TuneSharp.Eval.Custom;

/// <summary>Turns a <see cref="CustomTaskFile"/> into a task of its kind; prompts render with TuneSharp's Jinja engine.</summary>
public static class CustomTask
{
    public static IEvalTask From(CustomTaskFile f, IReadOnlyDictionary<string, IAnswerGrader> graders)
    {
        var text = Compile(f, "doc_to_text", f.DocToText);
        var target = f.DocToTarget is null ? null : Compile(f, "doc_to_target", f.DocToTarget);
        var def = new Dictionary<string, object?> { ["dataset_path"] = f.DatasetPath, ["task_file"] = f.Path, ["doc_to_text"] = f.DocToText };
        switch (f.OutputType)
        {
            case "multiple_choice":
                var choiceTemplates = f.DocToChoiceList?.Select(c => Compile(f, "doc_to_choice", c)).ToList();
                var metrics = f.Metrics.Select(m => m == "acc_norm" ? McMetric.AccNorm : McMetric.Acc).ToList();
                return new MultipleChoiceTask(f.Task, () => Records(f).Select((r, i) =>
                {
                    var choices = choiceTemplates?.Select(t => Render(f, t, r, i)).ToList() ?? ChoiceField(f, r, i);
                    return new McDoc(Render(f, text, r, i), choices, Gold(f, Render(f, target!, r, i), choices, i));
                }).ToList(), metrics)
                { DefaultFewshot = f.NumFewshot, Description = f.Description, Definition = def };
            case "generate_until":
                var filter = f.FilterRegex is null ? null : new Regex(f.FilterRegex, RegexOptions.CultureInvariant);
                var ignore = f.RegexesToIgnore.Select(r => new Regex(r, RegexOptions.CultureInvariant)).ToList();
                string filterName = filter is null ? "none" : "custom-extract";
                Func<string, string> extract = filter is null ? s => s : s => AnswerFilters.RegexFilter(s, filter, f.FilterGroupSelect);
                GenScorer scorer;
                if (f.Grader is { } name)
                {
                    var grader = graders.TryGetValue(name, out var g) ? g
                        : name.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                            ? OpenAiGraderAdapter.Load(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(f.Path))!, name))
                            : throw new InvalidDataException($"{f.Path}: grader '{name}' is not registered (known: {string.Join(", ", graders.Keys)}), and not a grader .json file");
                    scorer = new GenScorer(name, filterName, (response, doc) => grader.Grade(extract(response), doc.Target, doc.Fields));
                }
                else scorer = new GenScorer("exact_match", filterName,
                    (response, doc) => AnswerFilters.ExactMatch(extract(response), doc.Target, ignore, f.IgnoreCase));
                return new GenerationTask(f.Task, () => Records(f).Select((r, i) =>
                    new GenDoc(Render(f, text, r, i), Render(f, target!, r, i)) { Fields = r }).ToList(), f.Until, [scorer])
                { DefaultFewshot = f.NumFewshot, Description = f.Description, Definition = def };
            default:
                return new PerplexityTask(f.Task, f.DatasetPath, () => Records(f).Select((r, i) => Render(f, text, r, i)).ToList());
        }
    }

    static JinjaTemplate Compile(CustomTaskFile f, string key, string source)
    {
        try { return JinjaTemplate.Compile(source, key); }
        catch (TemplateSyntaxException e) { throw new InvalidDataException($"{f.Path}: '{key}' is not a valid template: {e.Message}", e); }
    }

    static string Render(CustomTaskFile f, JinjaTemplate t, IReadOnlyDictionary<string, object?> record, int index)
    {
        try { return t.Render(record); }
        catch (Exception e) when (e is TemplateRuntimeException or TemplateRaisedException)
        {
            throw new InvalidDataException($"{f.DatasetPath}:{index + 1}: template '{t.Name}' of {f.Path} failed: {e.Message}", e);
        }
    }

    static IReadOnlyList<IReadOnlyDictionary<string, object?>> Records(CustomTaskFile f) =>
        JsonLines.Read(f.DatasetPath).Select((row, i) => row.ValueKind == JsonValueKind.Object
            ? (IReadOnlyDictionary<string, object?>)row.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value)
            : throw new InvalidDataException($"{f.DatasetPath}:{i + 1}: a record must be a JSON object")).ToList();

    static IReadOnlyList<string> ChoiceField(CustomTaskFile f, IReadOnlyDictionary<string, object?> r, int i) =>
        r.TryGetValue(f.DocToChoiceField!, out var v) && v is JsonElement { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToList()
            : throw new InvalidDataException($"{f.DatasetPath}:{i + 1}: doc_to_choice field '{f.DocToChoiceField}' is not a list");

    /// <summary>The gold index: the rendered target as an integer, else the index of the choice with that text.</summary>
    static int Gold(CustomTaskFile f, string target, IReadOnlyList<string> choices, int i)
    {
        if (int.TryParse(target.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
            return n >= 0 && n < choices.Count ? n
                : throw new InvalidDataException($"{f.DatasetPath}:{i + 1}: doc_to_target {n} is not a choice index (0..{choices.Count - 1})");
        int idx = choices.ToList().IndexOf(target);
        return idx >= 0 ? idx : throw new InvalidDataException($"{f.DatasetPath}:{i + 1}: doc_to_target '{target}' is neither an index nor one of the choices");
    }
}
