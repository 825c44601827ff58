using System.Text.Json.Nodes;
using TuneSharp.Graders;
using TuneSharp.Graders.ModelClient;
using Xunit;

namespace TuneSharp.Serve.Tests;

/// <summary>
/// The score_model grader (TuneSharp.Graders) end to end against our real OpenAI-compatible server on loopback with
/// stories260K: the rendered prompt reaches the model, the reply is exactly what TextGenerator produces greedily for
/// the same messages, and the score (or the "no number" error: a story model rarely answers with a score) follows
/// ScoreReply's rules on that text.
/// </summary>
public sealed class ScoreModelGraderServeTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    const string Judge = """
        {"type":"score_model","name":"judge","model":"stories260K-hf","range":[0,10],
         "sampling_params":{"temperature":0,"max_completions_tokens":24},
         "input":[{"role":"system","content":"You tell stories."},{"role":"user","content":"Tell me about {{ item.topic }}."}]}
        """;

    async Task<GraderServices> Services(string key = ServerFixture.Key) =>
        new() { Chat = new ModelEndpoint(new Uri((await fx.Server()).Url + "/v1"), key) { MaxRetries = 1, InitialDelay = TimeSpan.FromMilliseconds(10) } };

    [Fact]
    public async Task ScoreModel_ThroughTunesharpServe_SeesTheGreedyReply_ForEachOfConcurrentSamples()
    {
        var grader = GraderFactory.FromJson(Judge, await Services());
        string[] topics = ["a cat", "the sea", "a big red ball"];
        var results = await Task.WhenAll(topics.Select(t => grader.GradeAsync(
            GraderContext.Create(new JsonObject { ["topic"] = t }, "the sample under judgement"), TestContext.Current.CancellationToken)));

        for (int i = 0; i < topics.Length; i++)
        {
            var expected = fx.ChatReference([("system", "You tell stories."), ("user", $"Tell me about {topics[i]}.")], 24);
            var r = results[i];
            Assert.NotEmpty(expected.Text);
            Assert.Equal(expected.Text, (string?)r.Details["reply"]);
            Assert.Equal(1, (int)r.Details["attempts"]!);
            Assert.Equal($"Tell me about {topics[i]}.", (string?)r.Details["messages"]![1]!["content"]);
            var (score, rule) = ScoreReply.Parse(expected.Text);
            Assert.Equal(rule, (string?)r.Details["parse_rule"]);
            if (score is { } s)
            {
                Assert.Equal(Math.Clamp(s, 0, 10), r.Score);
                Assert.Null(r.Error);
            }
            else
            {
                Assert.Equal(0, r.Score);
                Assert.Contains("numeric score in the judge's reply", r.Error);
            }
        }
    }

    [Fact]
    public async Task ScoreModel_WrongApiKey_FailsAtOnceWithTheServersStatus()
    {
        var grader = GraderFactory.FromJson(Judge, await Services(key: "wrong-key"));
        var e = await Assert.ThrowsAsync<ModelCallException>(() => grader.GradeAsync(
            GraderContext.Create(new JsonObject { ["topic"] = "a cat" }, "x"), TestContext.Current.CancellationToken));
        Assert.Equal(401, e.StatusCode);
    }
}
