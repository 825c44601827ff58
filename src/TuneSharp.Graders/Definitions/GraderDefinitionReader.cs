using System.Collections;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Definitions;

/// <summary>
/// Reads grader definitions in OpenAI's JSON shape (<c>{"type":"string_check","name":..,"input":..,"reference":..,
/// "operation":"eq"}</c>) or from the equivalent dictionaries a YAML reader produces. Unknown types, unknown keys,
/// missing fields, bad enum values, templates and formulas fail with a <see cref="GraderDefinitionException"/> naming
/// the key path (<c>graders.accuracy.operation</c>).
/// </summary>
public static class GraderDefinitionReader
{
    const string DefaultInput = "{{ sample.output_text }}";

    static readonly Dictionary<string, StringCheckOperation> Operations = new()
    {
        ["eq"] = StringCheckOperation.Eq, ["ne"] = StringCheckOperation.Ne,
        ["like"] = StringCheckOperation.Like, ["ilike"] = StringCheckOperation.Ilike,
    };

    static readonly Dictionary<string, SimilarityMetric> Metrics = new()
    {
        ["fuzzy_match"] = SimilarityMetric.FuzzyMatch, ["bleu"] = SimilarityMetric.Bleu, ["gleu"] = SimilarityMetric.Gleu,
        ["meteor"] = SimilarityMetric.Meteor, ["rouge_1"] = SimilarityMetric.Rouge1, ["rouge_2"] = SimilarityMetric.Rouge2,
        ["rouge_3"] = SimilarityMetric.Rouge3, ["rouge_4"] = SimilarityMetric.Rouge4, ["rouge_5"] = SimilarityMetric.Rouge5,
        ["rouge_l"] = SimilarityMetric.RougeL, ["cosine"] = SimilarityMetric.Cosine, ["exact"] = SimilarityMetric.Exact,
    };

    static readonly Dictionary<string, RegexMatchMode> MatchModes = new() { ["search"] = RegexMatchMode.Search, ["full"] = RegexMatchMode.Full };

    static readonly Dictionary<string, NumberExtraction> Extractions = new()
    {
        ["last"] = NumberExtraction.Last, ["first"] = NumberExtraction.First, ["gsm8k"] = NumberExtraction.Gsm8k,
        ["boxed"] = NumberExtraction.Boxed, ["strict"] = NumberExtraction.Strict,
    };

    static readonly string[] Types = ["string_check", "text_similarity", "score_model", "multi", "regex", "json_schema", "numeric"];

    /// <summary>Parses one definition from JSON text.</summary>
    public static GraderDefinition Parse(string json)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json); }
        catch (System.Text.Json.JsonException e) { throw new GraderDefinitionException("", $"grader definition is not valid JSON: {e.Message}"); }
        return Read(node, "");
    }

    /// <summary>Reads one definition from dictionaries, lists and scalars (what a YAML reader gives).</summary>
    public static GraderDefinition FromDictionary(IReadOnlyDictionary<string, object?> definition) => Read(ToNode(definition, ""), "");

    /// <summary>
    /// Reads one definition from any tree of dictionaries (string or object keys), lists and scalars, e.g. what
    /// YamlDotNet's <c>Deserialize&lt;object&gt;</c> returns; <paramref name="path"/> prefixes key paths in errors.
    /// </summary>
    public static GraderDefinition FromObject(object? definition, string path = "") => Read(ToNode(definition, path), path);

    /// <summary>Reads one definition from a JSON node; <paramref name="path"/> prefixes key paths in errors.</summary>
    public static GraderDefinition Read(JsonNode? node, string path = "")
    {
        if (node is not JsonObject obj)
            throw new GraderDefinitionException(path, $"a grader definition must be an object, got {FieldReader.Kind(node)}");
        string at(string k) => path.Length == 0 ? k : $"{path}.{k}";
        string type = obj["type"] is { } t ? FieldReader.AsString(t, at("type")) : throw new GraderDefinitionException(at("type"), "missing required key");
        return type switch
        {
            "string_check" => StringCheck(new FieldReader(obj, path, "type", "name", "input", "reference", "operation")),
            "text_similarity" => TextSimilarity(new FieldReader(obj, path, "type", "name", "input", "reference", "evaluation_metric", "pass_threshold")),
            "score_model" => ScoreModel(new FieldReader(obj, path, "type", "name", "model", "input", "range", "sampling_params", "pass_threshold")),
            "multi" => Multi(new FieldReader(obj, path, "type", "name", "graders", "calculate_output")),
            "regex" => Regex(new FieldReader(obj, path, "type", "name", "input", "pattern", "flags", "match", "timeout_ms")),
            "json_schema" => JsonSchema(new FieldReader(obj, path, "type", "name", "input", "schema")),
            "numeric" => Numeric(new FieldReader(obj, path, "type", "name", "input", "reference", "extract", "tolerance")),
            "python" => throw new GraderDefinitionException(at("type"), "'python' graders are not supported (they run arbitrary code); use multi, regex, numeric or json_schema"),
            "label_model" => throw new GraderDefinitionException(at("type"), "'label_model' graders are not supported; use score_model"),
            _ => throw new GraderDefinitionException(at("type"), $"unknown grader type '{type}'{FieldReader.DidYouMean(type, Types)} (known: {string.Join(", ", Types)})"),
        };
    }

    static string Template(FieldReader f, string key, string? fallback = null)
    {
        string text = fallback != null && !f.Has(key) ? fallback : f.String(key);
        GraderTemplate.Parse(text, f.At(key));
        return text;
    }

    static StringCheckDefinition StringCheck(FieldReader f) => new()
    {
        Name = f.String("name"), Input = Template(f, "input"), Reference = Template(f, "reference"),
        Operation = f.Enum("operation", Operations),
    };

    static TextSimilarityDefinition TextSimilarity(FieldReader f) => new()
    {
        Name = f.String("name"), Input = Template(f, "input"), Reference = Template(f, "reference"),
        Metric = f.Enum("evaluation_metric", Metrics), PassThreshold = f.OptionalNumber("pass_threshold"),
    };

    static ScoreModelDefinition ScoreModel(FieldReader f)
    {
        var messages = f.Array("input").Select((m, i) => Message(m, $"{f.At("input")}[{i}]")).ToList();
        if (messages.Count == 0) throw new GraderDefinitionException(f.At("input"), "must hold at least one message");
        double min = 0, max = 1;
        if (f.Has("range"))
        {
            var range = f.Array("range");
            if (range.Count != 2) throw new GraderDefinitionException(f.At("range"), $"must be [min, max], got {range.Count} values");
            min = FieldReader.AsNumber(range[0]!, f.At("range") + "[0]");
            max = FieldReader.AsNumber(range[1]!, f.At("range") + "[1]");
            if (!(min < max)) throw new GraderDefinitionException(f.At("range"), $"min {min} must be below max {max}");
        }
        var sampling = new SamplingParams();
        if (f.OptionalObject("sampling_params") is { } sp)
        {
            var s = new FieldReader(sp, f.At("sampling_params"), "temperature", "top_p", "seed", "max_completions_tokens", "max_completion_tokens", "reasoning_effort");
            sampling = new SamplingParams
            {
                Temperature = s.OptionalNumber("temperature"), TopP = s.OptionalNumber("top_p"),
                Seed = s.OptionalNumber("seed") is { } seed ? Integer(seed, s.At("seed")) : null,
                // OpenAI's grader object spells it max_completions_tokens; the chat API spells it max_completion_tokens.
                MaxCompletionTokens = (s.OptionalNumber("max_completions_tokens") ?? s.OptionalNumber("max_completion_tokens")) is { } mt
                    ? (int)Integer(mt, s.At("max_completions_tokens")) : null,
                ReasoningEffort = s.OptionalString("reasoning_effort"),
            };
        }
        double? threshold = f.OptionalNumber("pass_threshold");
        return new ScoreModelDefinition
        {
            Name = f.String("name"), Model = f.String("model"), Input = messages, RangeMin = min, RangeMax = max,
            Sampling = sampling, PassThreshold = threshold,
        };
    }

    static long Integer(double value, string path) =>
        value == Math.Floor(value) && Math.Abs(value) < 9e15 ? (long)value : throw new GraderDefinitionException(path, $"must be an integer, got {value}");

    static PromptMessage Message(JsonNode? node, string path)
    {
        if (node is not JsonObject m) throw new GraderDefinitionException(path, $"a message must be an object, got {FieldReader.Kind(node)}");
        var f = new FieldReader(m, path, "role", "content", "type");
        string role = f.String("role");
        if (role is not ("system" or "developer" or "user" or "assistant"))
            throw new GraderDefinitionException(f.At("role"), $"'{role}' is not one of system, developer, user, assistant");
        string content = f.Required("content") switch
        {
            JsonArray parts => string.Concat(parts.Select((p, i) => ContentPart(p, $"{f.At("content")}[{i}]"))),
            JsonObject part => ContentPart(part, f.At("content")),
            var s => FieldReader.AsString(s, f.At("content")),
        };
        GraderTemplate.Parse(content, f.At("content"));
        return new PromptMessage(role, content);
    }

    // Text content blocks: "text", {"type":"input_text","text":..} or {"type":"output_text","text":..}. Images and audio are refused.
    static string ContentPart(JsonNode? node, string path)
    {
        if (node is JsonValue) return FieldReader.AsString(node, path);
        if (node is not JsonObject o) throw new GraderDefinitionException(path, $"a content part must be a string or an object, got {FieldReader.Kind(node)}");
        var f = new FieldReader(o, path, "type", "text");
        string type = f.String("type");
        return type is "input_text" or "output_text" or "text" ? f.String("text")
            : throw new GraderDefinitionException(f.At("type"), $"content type '{type}' is not supported (only input_text / output_text)");
    }

    static MultiDefinition Multi(FieldReader f)
    {
        var graders = new Dictionary<string, GraderDefinition>(StringComparer.Ordinal);
        foreach (var (key, sub) in f.Object("graders"))
        {
            string path = $"{f.At("graders")}.{key}";
            // A sub-grader without its own name takes its key (the key is what calculate_output refers to).
            if (sub is JsonObject o && o["name"] is null) { o = (JsonObject)o.DeepClone(); o["name"] = key; graders[key] = Read(o, path); }
            else graders[key] = Read(sub, path);
        }
        if (graders.Count == 0) throw new GraderDefinitionException(f.At("graders"), "must name at least one grader");
        string formula = f.String("calculate_output");
        Formula.FormulaExpression.Parse(formula, f.At("calculate_output"), graders.Keys.ToHashSet(StringComparer.Ordinal));
        return new MultiDefinition { Name = f.String("name"), Graders = graders, CalculateOutput = formula };
    }

    static RegexDefinition Regex(FieldReader f)
    {
        var def = new RegexDefinition
        {
            Name = f.String("name"), Input = Template(f, "input", DefaultInput), Pattern = f.String("pattern"),
            Flags = f.OptionalString("flags") ?? "", Match = f.Has("match") ? f.Enum("match", MatchModes) : RegexMatchMode.Search,
            Timeout = f.OptionalNumber("timeout_ms") is { } ms ? TimeSpan.FromMilliseconds(ms > 0 ? ms
                : throw new GraderDefinitionException(f.At("timeout_ms"), "must be > 0")) : TimeSpan.FromMilliseconds(100),
        };
        Graders.RegexGrader.Build(def, f.Path); // validates flags and pattern now, with the key path
        return def;
    }

    static JsonSchemaDefinition JsonSchema(FieldReader f)
    {
        var schema = (JsonObject)f.Object("schema").DeepClone();
        Graders.JsonSchemaGrader.BuildSchema(schema, f.At("schema"));
        return new JsonSchemaDefinition { Name = f.String("name"), Input = Template(f, "input", DefaultInput), Schema = schema };
    }

    static NumericDefinition Numeric(FieldReader f)
    {
        double abs = 0, rel = 0;
        if (f.OptionalObject("tolerance") is { } tol)
        {
            var t = new FieldReader(tol, f.At("tolerance"), "absolute", "relative");
            abs = t.OptionalNumber("absolute") ?? 0;
            rel = t.OptionalNumber("relative") ?? 0;
            if (abs < 0) throw new GraderDefinitionException(t.At("absolute"), "must be >= 0");
            if (rel < 0) throw new GraderDefinitionException(t.At("relative"), "must be >= 0");
        }
        return new NumericDefinition
        {
            Name = f.String("name"), Input = Template(f, "input", DefaultInput), Reference = Template(f, "reference"),
            Extract = f.Has("extract") ? f.Enum("extract", Extractions) : NumberExtraction.Last,
            AbsoluteTolerance = abs, RelativeTolerance = rel,
        };
    }

    /// <summary>Dictionaries / lists / scalars (YAML reader output) to JSON nodes.</summary>
    internal static JsonNode? ToNode(object? value, string path) => value switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int or long or short or byte => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        IDictionary d => new JsonObject(d.Keys.Cast<object>().Select(k => KeyValuePair.Create(
            Convert.ToString(k, CultureInfo.InvariantCulture)!, ToNode(d[k], path.Length == 0 ? $"{k}" : $"{path}.{k}")))),
        IEnumerable<KeyValuePair<string, object?>> kvs => new JsonObject(kvs.Select(kv => KeyValuePair.Create(kv.Key,
            ToNode(kv.Value, path.Length == 0 ? kv.Key : $"{path}.{kv.Key}")))),
        IEnumerable e => new JsonArray([.. e.Cast<object?>().Select((x, i) => ToNode(x, $"{path}[{i}]"))]),
        _ => throw new GraderDefinitionException(path, $"unsupported value of type {value.GetType().Name}"),
    };
}
