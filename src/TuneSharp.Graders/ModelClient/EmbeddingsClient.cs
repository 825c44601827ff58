using System.Text.Json.Nodes;

namespace TuneSharp.Graders.ModelClient;

/// <summary>OpenAI-compatible <c>POST /embeddings</c> for text_similarity's cosine metric.</summary>
public sealed class EmbeddingsClient(OpenAiHttp http, string model)
{
    public async Task<IReadOnlyList<double[]>> EmbedAsync(IReadOnlyList<string> texts, CancellationToken ct)
    {
        var body = new JsonObject { ["model"] = model, ["input"] = new JsonArray([.. texts.Select(t => (JsonNode)t)]) };
        var (reply, _) = await http.PostAsync("embeddings", body, ct).ConfigureAwait(false);
        var data = reply["data"] as JsonArray ?? throw new ModelCallException("embeddings reply has no 'data' array");
        var vectors = new double[texts.Count][];
        foreach (var entry in data)
        {
            int index = entry?["index"]?.GetValue<int>() ?? throw new ModelCallException("embeddings entry without 'index'");
            if (index < 0 || index >= texts.Count) throw new ModelCallException($"embeddings entry index {index} out of range");
            vectors[index] = entry["embedding"] is JsonArray e
                ? [.. e.Select(x => x!.GetValue<double>())]
                : throw new ModelCallException($"embeddings entry {index} has no 'embedding' array");
        }
        return vectors.Any(v => v is null) ? throw new ModelCallException("embeddings reply is missing an input") : vectors;
    }
}
