using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// TuneSharp's json_schema grader: 1 when the rendered input (default: the model's output; a single ```json fence
/// around it is accepted) parses as JSON and validates against <c>schema</c> (JSON Schema 2020-12 unless the schema's
/// <c>$schema</c> names another draft; validated by JsonSchema.Net), else 0 with the violations in details.errors.
/// </summary>
internal sealed class JsonSchemaGrader(string name, GraderTemplate input, JsonSchema schema) : IGrader
{
    public string Name => name;

    public static JsonSchema BuildSchema(JsonObject schema, string path)
    {
        try
        {
            var built = JsonSchema.FromText(schema.ToJsonString());
            // Evaluating once surfaces unresolvable $refs and bad keywords now, with the key path.
            built.Evaluate(null, Options());
            return built;
        }
        catch (Exception e) when (e is JsonException or JsonSchemaException or RefResolutionException or ArgumentException or InvalidOperationException)
        {
            throw new GraderDefinitionException(path, $"not a usable JSON schema: {e.Message}");
        }
    }

    public Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default) =>
        Results.Guard(Name, 0, () =>
        {
            string text = input.Render(context);
            var details = new JsonObject { ["input"] = text };
            if (GraderContext.TryParse(text) is not { } json)
            {
                details["errors"] = new JsonArray("the input is not valid JSON");
                return Results.Binary(Name, false, details);
            }
            EvaluationResults result;
            // JsonSchema.Net builds its evaluation plan lazily inside the schema object: evaluate one sample at a time.
            lock (schema) result = schema.Evaluate(JsonNode.Parse(json.GetRawText()), Options());
            if (!result.IsValid)
                details["errors"] = new JsonArray([.. Errors(result).Select(e => (JsonNode)e)]);
            return Results.Binary(Name, result.IsValid, details);
        });

    // A fresh options object per evaluation = a local schema registry, so one schema's $id never collides with another's.
    static EvaluationOptions Options() => new() { OutputFormat = OutputFormat.List };

    static IEnumerable<string> Errors(EvaluationResults result) =>
        (result.Details.Count > 0 ? result.Details : [result])
        .Where(d => d.Errors is { Count: > 0 })
        .SelectMany(d => d.Errors!.Select(e => $"{(d.InstanceLocation.ToString() is { Length: > 0 } loc ? loc : "/")}: {e.Value}"))
        .Distinct()
        .Take(20);
}
