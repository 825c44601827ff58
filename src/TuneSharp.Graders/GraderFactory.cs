using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.Formula;
using TuneSharp.Graders.Graders;
using TuneSharp.Graders.ModelClient;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders;

/// <summary>What graders may call out to. Both endpoints are optional; a definition that needs a missing one is refused.</summary>
public sealed record GraderServices
{
    /// <summary>Chat-completions endpoint for score_model (e.g. <c>tunesharp serve</c> at http://127.0.0.1:8000/v1).</summary>
    public ModelEndpoint? Chat { get; init; }

    /// <summary>Embeddings endpoint for text_similarity's cosine metric.</summary>
    public ModelEndpoint? Embeddings { get; init; }

    /// <summary>Embedding model name sent to <see cref="Embeddings"/> (OpenAI's graders use text-embedding-3-large).</summary>
    public string EmbeddingModel { get; init; } = "text-embedding-3-large";

    /// <summary>Optional HttpClient (default: one shared client).</summary>
    public HttpClient? Http { get; init; }

    public static GraderServices None { get; } = new();
}

/// <summary>
/// Builds graders from definitions: compiles templates, regexes, schemas and formulas once. The one entry point:
/// <c>GraderFactory.Create(GraderDefinitionReader.Parse(json), services)</c>.
/// </summary>
public static class GraderFactory
{
    /// <summary>Builds a grader; throws <see cref="GraderDefinitionException"/> (with the key path) for what it cannot run.</summary>
    public static IGrader Create(GraderDefinition definition, GraderServices? services = null, string path = "")
    {
        services ??= GraderServices.None;
        string at(string key) => path.Length == 0 ? key : $"{path}.{key}";
        GraderTemplate T(string source, string key) => GraderTemplate.Parse(source, at(key));
        return definition switch
        {
            StringCheckDefinition d => new StringCheckGrader(d, T(d.Input, "input"), T(d.Reference, "reference")),
            TextSimilarityDefinition d => new TextSimilarityGrader(d, T(d.Input, "input"), T(d.Reference, "reference"),
                Embeddings(d, services, at("evaluation_metric"))),
            ScoreModelDefinition d => new ScoreModelGrader(d,
                [.. d.Input.Select((m, i) => (m.Role == "developer" ? "system" : m.Role, T(m.Content, $"input[{i}].content")))],
                new OpenAiHttp(services.Chat ?? throw new GraderDefinitionException(at("type"),
                    $"score_model '{d.Name}' needs a chat-completions endpoint (base URL and key, e.g. of `tunesharp serve`), and none is configured"),
                    services.Http)),
            MultiDefinition d => new MultiGrader(d.Name,
                d.Graders.ToDictionary(kv => kv.Key, kv => Create(kv.Value, services, $"{at("graders")}.{kv.Key}"), StringComparer.Ordinal),
                FormulaExpression.Parse(d.CalculateOutput, at("calculate_output"), d.Graders.Keys.ToHashSet(StringComparer.Ordinal))),
            RegexDefinition d => Regex(d, T(d.Input, "input"), path),
            JsonSchemaDefinition d => new JsonSchemaGrader(d.Name, T(d.Input, "input"), JsonSchemaGrader.BuildSchema(d.Schema, at("schema"))),
            NumericDefinition d => new NumericGrader(d, T(d.Input, "input"), T(d.Reference, "reference")),
            _ => throw new GraderDefinitionException(at("type"), $"no grader for definition type {definition.GetType().Name}"),
        };
    }

    /// <summary>Parses JSON and builds the grader in one step.</summary>
    public static IGrader FromJson(string json, GraderServices? services = null) => Create(GraderDefinitionReader.Parse(json), services);

    static RegexGrader Regex(RegexDefinition d, GraderTemplate input, string path)
    {
        var (pattern, options) = RegexGrader.Build(d, path);
        return new RegexGrader(d, input, pattern, options);
    }

    static EmbeddingsClient? Embeddings(TextSimilarityDefinition d, GraderServices services, string path) => d.Metric switch
    {
        SimilarityMetric.Meteor => throw new GraderDefinitionException(path,
            "'meteor' is not supported: METEOR's matching needs WordNet synonyms and a stemmer, which TuneSharp does not ship; " +
            "use rouge_l, bleu, gleu or fuzzy_match"),
        SimilarityMetric.Cosine when services.Embeddings is null => throw new GraderDefinitionException(path,
            "'cosine' compares embeddings and needs an embeddings endpoint (GraderServices.Embeddings), and none is configured"),
        SimilarityMetric.Cosine => new EmbeddingsClient(new OpenAiHttp(services.Embeddings!, services.Http), services.EmbeddingModel),
        _ => null,
    };

    internal static string MetricName(SimilarityMetric metric) => metric switch
    {
        SimilarityMetric.FuzzyMatch => "fuzzy_match",
        SimilarityMetric.RougeL => "rouge_l",
        >= SimilarityMetric.Rouge1 and <= SimilarityMetric.Rouge5 => $"rouge_{metric - SimilarityMetric.Rouge1 + 1}",
        _ => metric.ToString().ToLowerInvariant(),
    };
}
