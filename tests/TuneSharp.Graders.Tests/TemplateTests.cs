using TuneSharp.Graders.Templating;

namespace TuneSharp.Graders.Tests;

/// <summary>OpenAI's {{ item.x }} / {{ sample.output_text }} / {{ sample.output_json.x }} substitution.</summary>
public class TemplateTests
{
    static string Render(string template, string item, string output) =>
        GraderTemplate.Parse(template, "input").Render(GraderContext.Create(System.Text.Json.Nodes.JsonNode.Parse(item), output));

    [Fact]
    public void ItemAndSample_AreSubstituted_TextAroundKept()
    {
        Assert.Equal("Q: 2+2? A: 4 (model: four)",
            Render("Q: {{ item.question }} A: {{item.answer}} (model: {{ sample.output_text }})", """{"question":"2+2?","answer":"4"}""", "four"));
    }

    [Fact]
    public void NestedKeys_AndArrayIndexes()
    {
        const string item = """{"meta":{"gold":{"text":"yes"}},"choices":["a","b",{"t":"c"}]}""";
        Assert.Equal("yes", Render("{{ item.meta.gold.text }}", item, ""));
        Assert.Equal("b", Render("{{ item.choices[1] }}", item, ""));
        Assert.Equal("b", Render("{{ item.choices.1 }}", item, ""));
        Assert.Equal("c", Render("{{ item.choices[2].t }}", item, ""));
    }

    [Fact]
    public void NonStrings_RenderAsCompactJson()
    {
        const string item = """{"n": 42, "x": 1.5, "b": true, "z": null, "o": {"k": [1, 2]}, "u": "héllo"}""";
        Assert.Equal("42|1.5|true|null|{\"k\":[1,2]}|héllo", Render("{{ item.n }}|{{ item.x }}|{{ item.b }}|{{ item.z }}|{{ item.o }}|{{ item.u }}", item, ""));
    }

    [Fact]
    public void OutputJson_IsTheParsedOutput_FencesAccepted()
    {
        Assert.Equal("Paris", Render("{{ sample.output_json.city }}", "{}", """{"city":"Paris","pop":2}"""));
        Assert.Equal("2", Render("{{ sample.output_json.pop }}", "{}", "```json\n{\"city\":\"Paris\",\"pop\":2}\n```"));
    }

    [Fact]
    public void MissingItemKey_Throws_NamingTemplateAndKeys()
    {
        var e = Assert.Throws<GraderTemplateException>(() => Render("{{ item.answr }}", """{"answer":"4","question":"q"}""", ""));
        Assert.Contains("'{{ item.answr }}'", e.Message);
        Assert.Contains("no key 'answr'", e.Message);
        Assert.Contains("answer, question", e.Message);
        var e2 = Assert.Throws<GraderTemplateException>(() => Render("{{ item.choices[5] }}", """{"choices":[1,2]}""", ""));
        Assert.Contains("element [5] (length 2)", e2.Message);
    }

    [Theory]
    [InlineData("{{ items.answer }}", "unknown namespace 'items'")]
    [InlineData("{{ sample.output }}", "unsupported sample field 'output'")]
    [InlineData("{{ sample.output_text.x }}", "has no fields")]
    [InlineData("{{ sample }}", "needs a field")]
    [InlineData("{{ item.answer ", "no closing '}}'")]
    [InlineData("{{ }}", "empty")]
    [InlineData("{{ item.a b }}", "bad key 'a b'")]
    public void BadTemplate_IsADefinitionError(string template, string message)
    {
        var e = Assert.Throws<GraderDefinitionException>(() => GraderTemplate.Parse(template, "graders.x.input"));
        Assert.Equal("graders.x.input", e.Path);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task OutputNotJson_IsAnErroredResult_NotAnException()
    {
        var g = Support.Grader("""{"type":"string_check","name":"j","input":"{{ sample.output_json.city }}","reference":"Paris","operation":"eq"}""");
        var r = await g.Grade("{}", "Paris, I think");
        Assert.Equal(0, r.Score);
        Assert.False(r.Passed);
        Assert.Contains("not valid JSON", r.Error);
        var missing = await g.Grade("{}", """{"town":"Paris"}""");
        Assert.Contains("sample.output_json has no key 'city'", missing.Error);
    }
}
