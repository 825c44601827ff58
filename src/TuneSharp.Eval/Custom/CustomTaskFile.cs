using YamlDotNet.RepresentationModel;

namespace TuneSharp.Eval.Custom;

/// <summary>
/// A custom task file as written (lm-evaluation-harness's YAML key names, a subset):
/// <code>
/// task: my_task                      # name in the results
/// dataset_path: data.jsonl           # JSON Lines, relative to this file
/// output_type: multiple_choice       # multiple_choice | generate_until | loglikelihood_rolling
/// doc_to_text: "Q: {{question}}\nA:" # Jinja over the record's fields
/// doc_to_choice: choices             # a field holding a list, or a YAML list of templates
/// doc_to_target: "{{label}}"         # MC: an index or a choice's text; generation: the reference
/// num_fewshot: 0                     # shots are the first records (the evaluated one left out)
/// description: ""                    # text before the shots
/// metric: acc                        # multiple_choice: acc, acc_norm; generate_until: exact_match
/// grader: NAME                       # generate_until: a grader from EvalOptions.Graders instead of exact_match
/// generation_kwargs: {until: ["\n\n"]}
/// filter: {regex: "#### (\\d+)", group_select: 0}   # generate_until: extract before scoring
/// ignore_case: false
/// regexes_to_ignore: [","]
/// </code>
/// Unknown keys and wrong types are errors naming file:line.
/// </summary>
public sealed record CustomTaskFile
{
    public required string Path { get; init; }
    public required string Task { get; init; }
    public required string DatasetPath { get; init; }
    public required string OutputType { get; init; }
    public string DocToText { get; init; } = "";
    public string? DocToTarget { get; init; }
    public string? DocToChoiceField { get; init; }
    public IReadOnlyList<string>? DocToChoiceList { get; init; }
    public int NumFewshot { get; init; }
    public string Description { get; init; } = "";
    public IReadOnlyList<string> Metrics { get; init; } = [];
    public string? Grader { get; init; }
    public IReadOnlyList<string> Until { get; init; } = ["\n\n"];
    public string? FilterRegex { get; init; }
    public int FilterGroupSelect { get; init; }
    public bool IgnoreCase { get; init; }
    public IReadOnlyList<string> RegexesToIgnore { get; init; } = [];

    static readonly HashSet<string> Known =
    [
        "task", "dataset_path", "output_type", "doc_to_text", "doc_to_target", "doc_to_choice", "num_fewshot", "description",
        "metric", "grader", "generation_kwargs", "filter", "ignore_case", "regexes_to_ignore",
    ];

    public static CustomTaskFile Load(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path)) yaml.Load(reader);
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new InvalidDataException($"{path}: a custom task file is a YAML mapping (task, dataset_path, output_type, ...)");
        var map = new Dictionary<string, YamlNode>();
        foreach (var (k, v) in root.Children)
        {
            string key = ((YamlScalarNode)k).Value!;
            if (!Known.Contains(key))
                throw new InvalidDataException($"{path}:{k.Start.Line}: unknown key '{key}' (known: {string.Join(", ", Known)})");
            map[key] = v;
        }
        string Req(string key) => map.TryGetValue(key, out var n) ? Scalar(path, key, n)
            : throw new InvalidDataException($"{path}: missing key '{key}'");
        string? Opt(string key) => map.TryGetValue(key, out var n) ? Scalar(path, key, n) : null;

        string outputType = Req("output_type");
        if (outputType is not ("multiple_choice" or "generate_until" or "loglikelihood_rolling"))
            throw new InvalidDataException($"{path}:{map["output_type"].Start.Line}: output_type '{outputType}' is not multiple_choice, generate_until or loglikelihood_rolling");
        var gen = map.TryGetValue("generation_kwargs", out var g) ? Mapping(path, "generation_kwargs", g) : null;
        var filter = map.TryGetValue("filter", out var f) ? Mapping(path, "filter", f) : null;
        string? choiceField = null;
        IReadOnlyList<string>? choiceList = null;
        if (map.TryGetValue("doc_to_choice", out var c))
        {
            if (c is YamlSequenceNode) choiceList = List(path, "doc_to_choice", c);
            else choiceField = Scalar(path, "doc_to_choice", c);
        }
        var metrics = map.TryGetValue("metric", out var m)
            ? (m is YamlSequenceNode ? List(path, "metric", m) : [Scalar(path, "metric", m)])
            : outputType == "multiple_choice" ? ["acc"] : outputType == "generate_until" ? ["exact_match"] : [];
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var file = new CustomTaskFile
        {
            Path = path,
            Task = Req("task"),
            DatasetPath = System.IO.Path.Combine(dir, Req("dataset_path")),
            OutputType = outputType,
            DocToText = Opt("doc_to_text") ?? "",
            DocToTarget = Opt("doc_to_target"),
            DocToChoiceField = choiceField,
            DocToChoiceList = choiceList,
            NumFewshot = Int(path, "num_fewshot", Opt("num_fewshot") ?? "0", map),
            Description = Opt("description") ?? "",
            Metrics = metrics,
            Grader = Opt("grader"),
            Until = gen is not null && gen.TryGetValue("until", out var u) ? List(path, "generation_kwargs.until", u) : ["\n\n"],
            FilterRegex = filter is not null && filter.TryGetValue("regex", out var r) ? Scalar(path, "filter.regex", r) : null,
            FilterGroupSelect = filter is not null && filter.TryGetValue("group_select", out var gs) ? Int(path, "filter.group_select", Scalar(path, "filter.group_select", gs), map) : 0,
            IgnoreCase = (Opt("ignore_case") ?? "false") is "true" or "True",
            RegexesToIgnore = map.TryGetValue("regexes_to_ignore", out var ri) ? List(path, "regexes_to_ignore", ri) : [],
        };
        file.Check(map);
        return file;
    }

    void Check(Dictionary<string, YamlNode> map)
    {
        string Where(string key) => map.TryGetValue(key, out var n) ? $"{Path}:{n.Start.Line}" : Path;
        string[] allowed = OutputType switch
        {
            "multiple_choice" => ["acc", "acc_norm"],
            "generate_until" => ["exact_match"],
            _ => ["token_perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte"],
        };
        foreach (var metric in Metrics)
            if (!allowed.Contains(metric))
                throw new InvalidDataException($"{Where("metric")}: metric '{metric}' does not apply to {OutputType} (use {string.Join(", ", allowed)})");
        if (OutputType == "multiple_choice" && DocToChoiceField is null && DocToChoiceList is null)
            throw new InvalidDataException($"{Path}: a multiple_choice task needs doc_to_choice");
        if (OutputType != "loglikelihood_rolling" && DocToTarget is null)
            throw new InvalidDataException($"{Path}: a {OutputType} task needs doc_to_target");
        if (Grader != null && OutputType != "generate_until")
            throw new InvalidDataException($"{Where("grader")}: grader applies to generate_until tasks");
    }

    static string Scalar(string path, string key, YamlNode node) => node is YamlScalarNode s && s.Value is { } v ? v
        : throw new InvalidDataException($"{path}:{node.Start.Line}: '{key}' must be a single value");

    static IReadOnlyList<string> List(string path, string key, YamlNode node) => node is YamlSequenceNode seq
        ? seq.Children.Select(n => Scalar(path, key, n)).ToList()
        : throw new InvalidDataException($"{path}:{node.Start.Line}: '{key}' must be a list");

    static Dictionary<string, YamlNode> Mapping(string path, string key, YamlNode node) => node is YamlMappingNode m
        ? m.Children.ToDictionary(kv => Scalar(path, key, kv.Key), kv => kv.Value)
        : throw new InvalidDataException($"{path}:{node.Start.Line}: '{key}' must be a mapping");

    static int Int(string path, string key, string value, Dictionary<string, YamlNode> map) =>
        int.TryParse(value, out int n) ? n
            : throw new InvalidDataException($"{path}:{(map.TryGetValue(key, out var node) ? node.Start.Line : 0)}: '{key}' must be an integer, not '{value}'");
}
