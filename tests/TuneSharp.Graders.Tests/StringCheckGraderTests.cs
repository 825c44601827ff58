namespace TuneSharp.Graders.Tests;

/// <summary>string_check as OpenAI documents it: eq / ne / like case-sensitive, ilike case-insensitive; 1 or 0.</summary>
public class StringCheckGraderTests
{
    static IGrader Check(string op) => Support.Grader(
        $$$"""{"type":"string_check","name":"sc","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","operation":"{{{op}}}"}""");

    [Theory]
    [InlineData("eq", "Paris", "Paris", 1)]
    [InlineData("eq", "paris", "Paris", 0)]      // case-sensitive
    [InlineData("eq", "Paris ", "Paris", 0)]     // no trimming
    [InlineData("eq", "", "", 1)]
    [InlineData("ne", "Paris", "Paris", 0)]
    [InlineData("ne", "paris", "Paris", 1)]
    [InlineData("like", "The capital is Paris.", "Paris", 1)]
    [InlineData("like", "The capital is paris.", "Paris", 0)]  // case-sensitive substring
    [InlineData("like", "Par", "Paris", 0)]                     // input must contain the reference, not the reverse
    [InlineData("like", "anything", "", 1)]                     // the empty string is in every string
    [InlineData("ilike", "THE CAPITAL IS PARIS", "paris", 1)]
    [InlineData("ilike", "Lyon", "paris", 0)]
    public async Task Operation_ScoresOneOrZero(string op, string output, string answer, double expected)
    {
        var r = await Check(op).Grade($$"""{"answer":"{{answer}}"}""", output);
        Assert.Equal(expected, r.Score);
        Assert.Equal(expected == 1, r.Passed);
        Assert.Null(r.Error);
        Assert.Equal(output, (string?)r.Details["input"]);
        Assert.Equal(answer, (string?)r.Details["reference"]);
    }

    [Fact]
    public async Task Eq_ComparesOrdinal_NotCultureAware()
    {
        // "e\u0301" (e + combining acute) and "\u00e9" look the same but are different strings: eq is byte-for-byte.
        var r = await Check("eq").Grade("""{"answer":"\u00e9"}""", "e\u0301");
        Assert.Equal(0, r.Score);
    }
}
