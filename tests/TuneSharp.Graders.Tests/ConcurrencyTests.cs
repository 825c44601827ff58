using System.Text.Json;
using TuneSharp.Graders.ModelClient;

namespace TuneSharp.Graders.Tests;

/// <summary>One grader instance, many concurrent callers: the same results as one at a time.</summary>
public class ConcurrencyTests
{
    [Fact]
    public async Task ManyConcurrentGrades_EqualSequentialGrades()
    {
        var g = Support.Grader("""
            {"type":"multi","name":"m","calculate_output":"(eq + sim + schema + num) / 4",
             "graders":{
               "eq":{"type":"string_check","input":"{{ sample.output_json.answer }}","reference":"{{ item.answer }}","operation":"eq"},
               "sim":{"type":"text_similarity","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","evaluation_metric":"rouge_l"},
               "schema":{"type":"json_schema","schema":{"type":"object","required":["answer"]}},
               "num":{"type":"numeric","input":"{{ sample.output_json.answer }}","reference":"{{ item.answer }}"}}}
            """);
        var contexts = Enumerable.Range(0, 200).Select(i => GraderContext.Create(
            JsonSerializer.SerializeToElement(new { answer = (i % 7).ToString() }),
            i % 3 == 0 ? $"{{\"answer\":\"{i % 5}\"}}" : $"the answer is {i % 7}")).ToArray();
        var ct = TestContext.Current.CancellationToken;
        var sequential = new List<double>();
        foreach (var c in contexts) sequential.Add((await g.GradeAsync(c, ct)).Score);
        var parallel = await Task.WhenAll(contexts.Select(c => Task.Run(() => g.GradeAsync(c, ct), ct)));
        Assert.Equal(sequential, parallel.Select(r => r.Score));
        // Several different outcomes occur (JSON right / JSON wrong / text), so the comparison means something.
        Assert.True(sequential.Distinct().Count() >= 3, string.Join(", ", sequential.Distinct()));
        Assert.Contains(sequential, s => s > 0.9);
    }

    [Fact]
    public async Task GradeMany_KeepsInputOrder_AndBoundsConcurrency()
    {
        await using var server = new OpenAiDouble((_, body) =>
            OpenAiDouble.Reply.Chat($"score: {body["messages"]![0]!["content"]}") with { Delay = TimeSpan.FromMilliseconds(50) });
        var g = Support.Grader("""{"type":"score_model","name":"j","model":"m","range":[0,100],"input":[{"role":"user","content":"{{ item.n }}"}]}""",
            new GraderServices { Chat = new ModelEndpoint(server.BaseUrl) });
        var contexts = Enumerable.Range(0, 12).Select(i => GraderContext.Create(JsonSerializer.SerializeToElement(new { n = i }), "")).ToArray();
        var results = await g.GradeManyAsync(contexts, maxConcurrency: 3, TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (double)i), results.Select(r => r.Score));
        Assert.InRange(server.PeakInFlight, 2, 3); // overlapping (the double serves requests concurrently), never more than asked
    }
}
