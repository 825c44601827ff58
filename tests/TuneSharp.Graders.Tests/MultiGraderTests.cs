using TuneSharp.Graders.Formula;

namespace TuneSharp.Graders.Tests;

/// <summary>multi's calculate_output: operators, precedence, the documented functions, and errors.</summary>
public class MultiGraderTests
{
    static readonly HashSet<string> Names = ["a", "b", "c_2"];
    static readonly Dictionary<string, double> Scores = new() { ["a"] = 1, ["b"] = 0.25, ["c_2"] = 4 };

    static double Eval(string formula) => FormulaExpression.Parse(formula, "calculate_output", Names).Evaluate(Scores);

    [Theory]
    [InlineData("a + b * c_2", 2)]              // * before +
    [InlineData("(a + b) * c_2", 5)]
    [InlineData("a - b - b", 0.5)]              // left-associative
    [InlineData("c_2 / 2 / 2", 1)]
    [InlineData("-b + a", 0.75)]
    [InlineData("2 ^ 3 ^ 2", 512)]              // right-associative power
    [InlineData("-2 ^ 2", -4)]
    [InlineData("0.5 * a + 0.5 * b", 0.625)]
    [InlineData("1e-1 * c_2", 0.4)]
    [InlineData("min(a, b, c_2)", 0.25)]
    [InlineData("max(a, b, c_2)", 4)]
    [InlineData("abs(b - a)", 0.75)]
    [InlineData("floor(2.7) + ceil(0.2)", 3)]
    [InlineData("sqrt(c_2)", 2)]
    [InlineData("log(exp(3))", 3)]
    [InlineData("max(min(a, 0.5), b) * 2", 1)]
    public void Formula_Evaluates(string formula, double expected) => Assert.Equal(expected, Eval(formula), 12);

    [Theory]
    [InlineData("a +", "unexpected end of formula")]
    [InlineData("(a + b", "expected ')'")]
    [InlineData("a b", "unexpected 'b'")]
    [InlineData("pow(a, 2)", "unknown function 'pow'")]
    [InlineData("sqrt(a, b)", "sqrt() takes 1 argument, got 2")]
    [InlineData("a; import os", "unexpected ';'")]
    [InlineData("", "empty")]
    [InlineData("1..2", "bad number '1..2'")]
    public void BadFormula_NamesOffsetAndProblem(string formula, string message)
    {
        var e = Assert.Throws<GraderDefinitionException>(() => FormulaExpression.Parse(formula, "calculate_output", Names));
        Assert.Equal("calculate_output", e.Path);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void NonFiniteResult_IsAnArithmeticError() =>
        Assert.Throws<ArithmeticException>(() => Eval("a / (b - b)"));

    [Fact]
    public async Task Multi_CombinesSubGraderScores_AndKeepsThem()
    {
        var g = Support.Grader("""
            {"type":"multi","name":"combo","calculate_output":"0.7 * exact + 0.3 * close",
             "graders":{
               "exact":{"type":"string_check","name":"exact","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","operation":"eq"},
               "close":{"type":"text_similarity","name":"close","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","evaluation_metric":"fuzzy_match"}}}
            """);
        var right = await g.Grade("""{"answer":"sitting"}""", "sitting");
        var near = await g.Grade("""{"answer":"sitting"}""", "kitten");
        Assert.Equal(1.0, right.Score, 12);
        Assert.Equal(0.3 * 8 / 13, near.Score, 12);
        Assert.Equal(0, near.SubResults["exact"].Score);
        Assert.Equal(8.0 / 13, near.SubResults["close"].Score, 12);
        Assert.Equal(8.0 / 13, (double)near.ToJson()["sub_results"]!["close"]!["score"]!, 12);
        Assert.Null(near.Passed);
    }

    [Fact]
    public async Task Multi_DivisionByZero_IsAnErroredResult()
    {
        var g = Support.Grader("""
            {"type":"multi","name":"m","calculate_output":"1 / a",
             "graders":{"a":{"type":"string_check","input":"{{ sample.output_text }}","reference":"x","operation":"eq"}}}
            """);
        var r = await g.Grade("{}", "y");
        Assert.Equal(0, r.Score);
        Assert.Contains("calculate_output '1 / a' gave", r.Error);
    }
}
