using System.Text.Json.Nodes;
using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.ModelClient;
using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Graders;

/// <summary>
/// OpenAI's score_model: the rendered messages go to <c>POST {base}/chat/completions</c> with <c>model</c> and the
/// <c>sampling_params</c>; the reply's number (<see cref="ScoreReply"/>) is the score. A score outside <c>range</c> is
/// clamped into it (details.clamped_from keeps the original); a reply without a number is an errored result scored
/// range[0]. With <c>pass_threshold</c>, passed = score &gt;= threshold. Endpoint failures that survive the retries
/// throw <see cref="ModelCallException"/> (an unreachable judge is not a low score).
/// </summary>
internal sealed class ScoreModelGrader(ScoreModelDefinition def, IReadOnlyList<(string Role, GraderTemplate Content)> messages,
    OpenAiHttp http) : IGrader
{
    public string Name => def.Name;

    public Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default) =>
        Results.Guard(Name, def.RangeMin, async () =>
        {
            var rendered = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject
            {
                ["role"] = m.Role, ["content"] = m.Content.Render(context),
            })]);
            var (reply, attempts) = await http.PostAsync("chat/completions", Request(rendered), cancellationToken).ConfigureAwait(false);
            string text = reply["choices"]?[0]?["message"]?["content"] is JsonValue c && c.TryGetValue(out string? s) ? s
                : throw new ModelCallException($"{Name}: the chat reply has no choices[0].message.content: {Clip(reply.ToJsonString())}");
            var details = new JsonObject { ["model"] = def.Model, ["reply"] = text, ["attempts"] = attempts, ["messages"] = rendered };
            var (parsed, rule) = ScoreReply.Parse(text);
            details["parse_rule"] = rule;
            if (parsed is not { } raw)
                return new GradeResult
                {
                    Name = Name, Score = def.RangeMin, Passed = false, Details = details,
                    Error = $"{Name}: no {(rule == "ambiguous" ? "unambiguous " : "")}numeric score in the judge's reply: \"{Clip(text)}\"",
                };
            double score = Math.Clamp(raw, def.RangeMin, def.RangeMax);
            if (score != raw) details["clamped_from"] = raw;
            return new GradeResult
            {
                Name = Name, Score = score, Passed = def.PassThreshold is { } t ? score >= t : null, Details = details,
            };
        });

    JsonObject Request(JsonArray rendered)
    {
        var body = new JsonObject { ["model"] = def.Model, ["messages"] = rendered.DeepClone() };
        var p = def.Sampling;
        if (p.Temperature is { } temperature) body["temperature"] = temperature;
        if (p.TopP is { } topP) body["top_p"] = topP;
        if (p.Seed is { } seed) body["seed"] = seed;
        if (p.MaxCompletionTokens is { } max) body["max_completion_tokens"] = max;
        if (p.ReasoningEffort is { } effort) body["reasoning_effort"] = effort;
        return body;
    }

    static string Clip(string s) => s.Length > 200 ? s[..200] + "..." : s;
}
