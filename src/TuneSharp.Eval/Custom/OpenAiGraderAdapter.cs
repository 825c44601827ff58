using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Graders;

namespace TuneSharp.Eval.Custom;

/// <summary>
/// An OpenAI-shaped grader from <c>TuneSharp.Graders</c> (string_check, text_similarity, score_model, multi, regex,
/// json_schema, numeric; docs/graders.md) as a custom task's grader: the task's record is <c>item</c> (with
/// <c>item.reference</c> = the rendered <c>doc_to_target</c>), the filtered response is <c>sample.output_text</c>, and
/// the grader's score is the item's metric value.
/// </summary>
public sealed class OpenAiGraderAdapter(IGrader grader) : IAnswerGrader
{
    /// <summary>A grader definition file (an OpenAI grader JSON object); a bad definition names the file and the key.</summary>
    public static OpenAiGraderAdapter Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"grader file {path} not found", path);
        try { return new OpenAiGraderAdapter(GraderFactory.FromJson(File.ReadAllText(path))); }
        catch (Exception e) when (e is GraderDefinitionException or JsonException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public double Grade(string response, string reference, IReadOnlyDictionary<string, object?> doc)
    {
        var item = JsonSerializer.SerializeToNode(doc) as JsonObject ?? [];
        item["reference"] = reference;
        return grader.GradeAsync(GraderContext.Create(item, response)).GetAwaiter().GetResult().Score;
    }
}
