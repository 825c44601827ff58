namespace TuneSharp.Graders.Tests;

/// <summary>regex, json_schema and numeric graders.</summary>
public class CheckGraderTests
{
    [Theory]
    [InlineData("""{"type":"regex","name":"r","pattern":"\\bParis\\b"}""", "It is Paris.", 1)]
    [InlineData("""{"type":"regex","name":"r","pattern":"\\bParis\\b"}""", "Parisian", 0)]
    [InlineData("""{"type":"regex","name":"r","pattern":"paris"}""", "PARIS", 0)]
    [InlineData("""{"type":"regex","name":"r","pattern":"paris","flags":"i"}""", "PARIS", 1)]
    [InlineData("""{"type":"regex","name":"r","pattern":"^b$","flags":"m"}""", "a\nb\nc", 1)]
    [InlineData("""{"type":"regex","name":"r","pattern":"a.c","flags":"s"}""", "a\nc", 1)]
    [InlineData("""{"type":"regex","name":"r","pattern":"\\d+","match":"full"}""", "123", 1)]
    [InlineData("""{"type":"regex","name":"r","pattern":"\\d+","match":"full"}""", "123 apples", 0)]
    [InlineData("""{"type":"regex","name":"r","pattern":"a|b","match":"full"}""", "ab", 0)] // alternation is grouped inside the anchors
    [InlineData("""{"type":"regex","name":"r","input":"{{ item.text }}","pattern":"^ok$"}""", "ignored", 1)]
    public async Task Regex_Matches(string json, string output, double expected)
    {
        var r = await Support.Grader(json).Grade("""{"text":"ok"}""", output);
        Assert.Equal(expected, r.Score);
        Assert.Equal(expected == 1, r.Passed);
    }

    [Theory]
    [InlineData("The answer is Paris.", "Paris", 1)]
    [InlineData("the answer is PARIS", "Paris", 1)]          // flag i
    [InlineData("Parisian food", "Paris", 0)]                // word boundaries from the fixed part
    [InlineData("pi is 3.14", "3.14", 1)]
    [InlineData("pi is 3x14", "3.14", 0)]                    // the item's "." is escaped: it matches only a dot
    [InlineData("cost: (a+b)", "(a+b)", 1)]                  // a value that is not a valid regex on its own
    public async Task Regex_TemplatedPattern_MatchesItemValuesLiterally(string output, string answer, double expected)
    {
        var g = Support.Grader("""{"type":"regex","name":"r","pattern":"(?<![\\w.])({{ item.answer }})(?![\\w])","flags":"i"}""");
        var r = await g.Grade(System.Text.Json.JsonSerializer.Serialize(new { answer }), output);
        Assert.Equal(expected, r.Score);
    }

    [Fact]
    public void Regex_TemplatedPattern_FixedPartIsValidatedAtBuildTime()
    {
        var e = Assert.Throws<GraderDefinitionException>(() => Support.Grader("""{"type":"regex","name":"r","pattern":"({{ item.answer }}"}"""));
        Assert.Equal("pattern", e.Path);
        Assert.Contains("invalid regular expression", e.Message);
    }

    [Fact]
    public async Task Regex_CatastrophicPattern_TimesOutAsAnErroredResult()
    {
        var g = Support.Grader("""{"type":"regex","name":"r","pattern":"^(a+)+$","timeout_ms":20}""");
        var r = await g.Grade("{}", new string('a', 40) + "!");
        Assert.Equal(0, r.Score);
        Assert.Contains("did not finish within 20 ms", r.Error);
    }

    const string Schema = """
        {"type":"json_schema","name":"s","schema":{"type":"object","required":["city","population"],
          "properties":{"city":{"type":"string"},"population":{"type":"integer","minimum":0}},"additionalProperties":false}}
        """;

    [Theory]
    [InlineData("""{"city":"Paris","population":2100000}""", 1, null)]
    [InlineData("```json\n{\"city\":\"Paris\",\"population\":1}\n```", 1, null)]
    [InlineData("""{"city":"Paris"}""", 0, "population")]
    [InlineData("""{"city":"Paris","population":-5}""", 0, "/population")]
    [InlineData("""{"city":"Paris","population":1,"mayor":"x"}""", 0, "mayor")]
    [InlineData("Paris has 2.1M people", 0, "not valid JSON")]
    public async Task JsonSchema_ParsesAndValidates(string output, double expected, string? errorFragment)
    {
        var r = await Support.Grader(Schema).Grade("{}", output);
        Assert.Equal(expected, r.Score);
        if (errorFragment == null) Assert.Null(r.Details["errors"]);
        else Assert.Contains(errorFragment, r.Details["errors"]!.ToJsonString());
    }

    [Theory]
    [InlineData("last", "6 * 7 = 42", "42", 1)]
    [InlineData("last", "It costs $1,234.50 in total.", "1234.5", 1)]
    [InlineData("last", "no numbers here", "1", 0)]
    [InlineData("first", "3 apples and 4 pears", "3", 1)]
    [InlineData("gsm8k", "Natalia sold 48/2 = 24 clips.\n#### 72", "72", 1)]
    [InlineData("gsm8k", "The answer is 72", "72", 0)]                // strict: no '#### ' marker
    [InlineData("gsm8k", "#### 1,000", "1000", 1)]
    [InlineData("boxed", "so x = \\boxed{\\frac{1}{2}}.", "0.5", 1)]
    [InlineData("boxed", "first \\boxed{3} then \\boxed{{4}}", "4", 0)]  // last box holds "{4}", not a number
    [InlineData("boxed", "\\boxed{-12}", "-12", 1)]
    [InlineData("strict", " 7 ", "7", 1)]
    [InlineData("strict", "7 cats", "7", 0)]
    public async Task Numeric_ExtractsAndCompares(string extract, string output, string reference, double expected)
    {
        var g = Support.Grader($$$"""{"type":"numeric","name":"n","reference":"{{ item.answer }}","extract":"{{{extract}}}"}""");
        var r = await g.Grade($$"""{"answer":"{{reference}}"}""", output);
        Assert.Equal(expected, r.Score);
    }

    [Theory]
    [InlineData("""{"absolute":0.01}""", "3.14", 1)]
    [InlineData("""{"absolute":0.001}""", "3.14", 0)]
    [InlineData("""{"relative":0.001}""", "3.14", 1)]   // |3.14-3.14159| = 0.00159 <= 0.001*3.14159
    [InlineData("""{"relative":0.0001}""", "3.14", 0)]
    [InlineData("""{}""", "3.14159", 1)]
    public async Task Numeric_Tolerance_IsMaxOfAbsoluteAndRelative(string tolerance, string output, double expected)
    {
        var g = Support.Grader($$$"""{"type":"numeric","name":"n","reference":"{{ item.answer }}","tolerance":{{{tolerance}}}}""");
        Assert.Equal(expected, (await g.Grade("""{"answer":3.14159}""", output)).Score);
    }

    [Fact]
    public async Task Numeric_ReferenceNotANumber_IsADataError()
    {
        var g = Support.Grader("""{"type":"numeric","name":"n","reference":"{{ item.answer }}"}""");
        var e = await Assert.ThrowsAsync<GraderTemplateException>(() => g.Grade("""{"answer":"seven"}""", "7"));
        Assert.Contains("rendered to \"seven\", which is not a number", e.Message);
    }
}
