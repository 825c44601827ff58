using System.Text.Json.Nodes;
using TuneSharp.Graders.ModelClient;

namespace TuneSharp.Graders.Tests;

/// <summary>score_model over HTTP against a loopback server that replies like the OpenAI API.</summary>
public class ScoreModelGraderTests
{
    const string Judge = """
        {"type":"score_model","name":"judge","model":"judge-model","range":[0,10],"pass_threshold":6,
         "sampling_params":{"temperature":0,"seed":7,"max_completions_tokens":20},
         "input":[{"role":"developer","content":"Grade the answer from 0 to 10."},
                  {"role":"user","content":"Question: {{ item.q }}\nReference: {{ item.a }}\nAnswer: {{ sample.output_text }}"}]}
        """;

    static GraderServices Services(OpenAiDouble server, int retries = 3) => new()
    {
        Chat = new ModelEndpoint(server.BaseUrl, "sk-test") { MaxRetries = retries, InitialDelay = TimeSpan.FromMilliseconds(5) },
    };

    [Fact]
    public async Task RendersMessages_SendsSamplingParams_ParsesTheScore()
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Chat("The answer is right but terse. Score: 8"));
        var r = await Support.Grader(Judge, Services(server)).Grade("""{"q":"2+2?","a":"4"}""", "four");

        Assert.Equal(8, r.Score);
        Assert.True(r.Passed);
        Assert.Equal("label", (string?)r.Details["parse_rule"]);
        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer sk-test", request.Authorization);
        Assert.Equal("judge-model", (string?)request.Body["model"]);
        Assert.Equal(0, (double)request.Body["temperature"]!);
        Assert.Equal(7, (long)request.Body["seed"]!);
        Assert.Equal(20, (int)request.Body["max_completion_tokens"]!);
        Assert.Null(request.Body["top_p"]);                                  // unset params are not sent
        var messages = (JsonArray)request.Body["messages"]!;
        Assert.Equal("system", (string?)messages[0]!["role"]);              // developer -> system for chat servers
        Assert.Equal("Question: 2+2?\nReference: 4\nAnswer: four", (string?)messages[1]!["content"]);
    }

    [Theory]
    [InlineData("""{"steps":[{"description":"ok","conclusion":"ok"}],"result":7.5}""", 7.5, "json.result")]
    [InlineData("```json\n{\"score\": 3}\n```", 3, "json.score")]
    [InlineData("9", 9, "number")]
    [InlineData("Rating: **4**/10", 4, "label")]
    [InlineData("I would give it a 5.", 5, "only-number")]
    [InlineData("Score: 14", 10, "label")]   // clamped into range
    [InlineData("Score: -3", 0, "label")]
    public async Task ReplyShapes_GiveTheScore(string reply, double expected, string rule)
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Chat(reply));
        var r = await Support.Grader(Judge, Services(server)).Grade("""{"q":"q","a":"a"}""", "x");
        Assert.Equal(expected, r.Score);
        Assert.Equal(rule, (string?)r.Details["parse_rule"]);
        Assert.Null(r.Error);
        Assert.Equal(expected >= 6, r.Passed);
        if (reply.Contains("14") || reply.Contains("-3")) Assert.NotNull(r.Details["clamped_from"]);
    }

    [Theory]
    [InlineData("Between 3 and 4, maybe 5.", "ambiguous")]
    [InlineData("Looks fine to me.", "no-number")]
    public async Task ReplyWithoutAClearNumber_IsAnErroredResultAtRangeMin(string reply, string rule)
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Chat(reply));
        var r = await Support.Grader(Judge, Services(server)).Grade("""{"q":"q","a":"a"}""", "x");
        Assert.Equal(0, r.Score);
        Assert.False(r.Passed);
        Assert.Contains("numeric score in the judge's reply", r.Error);
        Assert.Equal(rule, (string?)r.Details["parse_rule"]);
        Assert.Equal(reply, (string?)r.Details["reply"]);
    }

    [Fact]
    public async Task RateLimitsAndServerErrors_AreRetried_WithRetryAfter()
    {
        await using var server = new OpenAiDouble((call, _) => call switch
        {
            1 => OpenAiDouble.Reply.Error(429, "slow down", retryAfter: "0"),
            2 => OpenAiDouble.Reply.Error(503, "overloaded"),
            _ => OpenAiDouble.Reply.Chat("6"),
        });
        var r = await Support.Grader(Judge, Services(server)).Grade("""{"q":"q","a":"a"}""", "x");
        Assert.Equal(6, r.Score);
        Assert.Equal(3, (int)r.Details["attempts"]!);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task ClientErrors_FailAtOnce_WithTheServersMessage()
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Error(400, "model 'judge-model' does not exist"));
        var e = await Assert.ThrowsAsync<ModelCallException>(() => Support.Grader(Judge, Services(server)).Grade("""{"q":"q","a":"a"}""", "x"));
        Assert.Equal(400, e.StatusCode);
        Assert.Contains("model 'judge-model' does not exist", e.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task PersistentServerErrors_GiveUpAfterMaxRetries()
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Error(500, "boom"));
        var e = await Assert.ThrowsAsync<ModelCallException>(() => Support.Grader(Judge, Services(server, retries: 2)).Grade("""{"q":"q","a":"a"}""", "x"));
        Assert.Contains("gave up after 3 attempts", e.Message);
        Assert.Contains("boom", e.Message);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Cosine_EmbedsBothTexts_ThroughTheEmbeddingsEndpoint()
    {
        await using var server = new OpenAiDouble((_, body) => new OpenAiDouble.Reply(200, new JsonObject
        {
            ["data"] = new JsonArray(
                new JsonObject { ["index"] = 1, ["embedding"] = new JsonArray(1.0, 1.0) },
                new JsonObject { ["index"] = 0, ["embedding"] = new JsonArray(1.0, 0.0) }),
        }.ToJsonString()));
        var services = new GraderServices { Embeddings = new ModelEndpoint(server.BaseUrl, "k"), EmbeddingModel = "emb" };
        var g = Support.Grader("""{"type":"text_similarity","name":"cos","input":"{{ sample.output_text }}","reference":"{{ item.r }}","evaluation_metric":"cosine","pass_threshold":0.7}""", services);
        var r = await g.Grade("""{"r":"ref"}""", "out");
        Assert.Equal(Math.Sqrt(0.5), r.Score, 12);
        Assert.True(r.Passed);
        var req = Assert.Single(server.Requests);
        Assert.Equal("/v1/embeddings", req.Path);
        Assert.Equal("""{"model":"emb","input":["out","ref"]}""", req.Body.ToJsonString());
    }

    [Fact]
    public async Task SlowReplies_TimeOutPerAttempt_AndAreRetried()
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Chat("5") with { Delay = TimeSpan.FromMilliseconds(400) });
        var services = new GraderServices
        {
            Chat = new ModelEndpoint(server.BaseUrl) { MaxRetries = 1, InitialDelay = TimeSpan.FromMilliseconds(5), RequestTimeout = TimeSpan.FromMilliseconds(100) },
        };
        var e = await Assert.ThrowsAsync<ModelCallException>(() => Support.Grader(Judge, services).Grade("""{"q":"q","a":"a"}""", "x"));
        Assert.Contains("no reply within 0.1 s (gave up after 2 attempts)", e.Message);
    }

    [Fact]
    public async Task Cancellation_StopsAtOnce_WithoutRetrying()
    {
        await using var server = new OpenAiDouble((_, _) => OpenAiDouble.Reply.Chat("5") with { Delay = TimeSpan.FromMilliseconds(300) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var g = Support.Grader(Judge, Services(server));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => g.GradeAsync(
            GraderContext.Create(JsonNode.Parse("""{"q":"q","a":"a"}"""), "x"), cts.Token));
        Assert.Single(server.Requests);
    }
}
