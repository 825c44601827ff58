using System.Text.Json;

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
}
