using TuneSharp.Eval.Metrics;
using TuneSharp.Eval.Tasks;
using Xunit;

namespace TuneSharp.Eval.Tests;

/// <summary>GSM8K's filters and exact_match as lm-evaluation-harness defines them, case by case.</summary>
public sealed class AnswerFilterTests
{
    const string Reference = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18";

    static double Strict(string response) => Gsm8k.Scorers[0].Score(response, new GenDoc("q", Reference));
    static double Flexible(string response) => Gsm8k.Scorers[1].Score(response, new GenDoc("q", Reference));

    [Theory]
    [InlineData("She makes 18 dollars.\n#### 18", "18")]
    [InlineData("#### -3.5 and then #### 7", "-3.5")]       // take_first: the first match
    [InlineData("#### 1,234", "1,234")]
    [InlineData("The answer is 18", AnswerFilters.Invalid)] // no "#### ": the fallback
    public void StrictMatch_Takes_The_Number_After_Hashes(string response, string expected) =>
        Assert.Equal(expected, AnswerFilters.RegexFilter(response, AnswerFilters.Gsm8kStrict));

    [Theory]
    [InlineData("She makes 9 * 2 = $18 every day.", "$18")]  // the last match; single digits match the second group
    [InlineData("The answer is 42.", "42.")]
    [InlineData("so 7", "7")]                                // only the second alternative matched: its group
    [InlineData("no digits here", AnswerFilters.Invalid)]
    public void FlexibleExtract_Takes_The_Last_Number(string response, string expected) =>
        Assert.Equal(expected, AnswerFilters.RegexFilter(response, AnswerFilters.Gsm8kFlexible, groupSelect: -1));

    [Theory]
    [InlineData("So she makes 18.\n#### 18", 1, 1)]
    [InlineData("#### $18.", 0, 1)]        // strict's pattern takes no "$"; flexible's "$18." loses "$" and the final "."
    [InlineData("#### 1,8", 1, 1)]         // commas are ignored too (the harness's regexes_to_ignore)
    [InlineData("She makes $18.", 0, 1)]   // strict needs "#### "; flexible finds "$18."
    [InlineData("#### 17", 0, 0)]
    [InlineData("It is 18 or 19", 0, 0)]   // flexible takes the last number: 19
    public void Gsm8k_ExactMatch_After_Each_Filter(string response, double strict, double flexible)
    {
        Assert.Equal(strict, Strict(response));
        Assert.Equal(flexible, Flexible(response));
    }

    [Fact]
    public void ExactMatch_Ignores_Case_Only_When_Asked()
    {
        Assert.Equal(1, AnswerFilters.ExactMatch("Paris", "paris", [], ignoreCase: true));
        Assert.Equal(0, AnswerFilters.ExactMatch("Paris", "paris", [], ignoreCase: false));
        Assert.Equal(0, AnswerFilters.ExactMatch("Paris ", "Paris", [], ignoreCase: false)); // no implicit trimming
    }
}

/// <summary>MATH answers: Minerva's extraction and normalisation as lm-evaluation-harness's minerva_math, case by case.</summary>
public sealed class MathAnswerTests
{
    [Theory]
    [InlineData("so $x = \\boxed{\\frac{1}{2}}$.", "\\boxed{\\frac{1}{2}}")]
    [InlineData("\\boxed{1} then \\boxed{2}", "\\boxed{2}")]      // the last one
    [InlineData("\\boxed{\\{1,2\\}}", "\\boxed{\\{1,2\\}}")]     // braces balanced
    [InlineData("\\fbox{3}", "\\fbox{3}")]
    [InlineData("\\boxed 5$ rest", "\\boxed 5")]
    [InlineData("no box", null)]
    [InlineData("\\boxed{unclosed", null)]
    public void LastBoxed(string text, string? expected) => Assert.Equal(expected, MathAnswer.LastBoxed(text));

    [Theory]
    [InlineData("x = 5", "5")]
    [InlineData("$\\frac{2}{3}$", "\\frac{2}{3}")]
    [InlineData("\\frac12", "\\frac{1}{2}")]
    [InlineData("\\sqrt2", "\\sqrt{2}")]
    [InlineData("\\text{(B)}", "(B)")]
    [InlineData("90^\\circ", "90")]
    [InlineData("10,000", "10000")]
    [InlineData("5 \\text{ cm}", "5")]
    [InlineData("\\left( 3, \\frac{\\pi}{2} \\right)", "\\le(3,\\frac{\\pi}{2}\\right)")] // Minerva drops "ft", even in \\left
    public void Normalize(string answer, string expected) => Assert.Equal(expected, MathAnswer.Normalize(answer));

    [Fact]
    public void FinalAnswer_Reads_Minervas_Phrase()
    {
        Assert.Equal("$24$", MathAnswer.FinalAnswer("so 24.\nFinal Answer: The final answer is $24$. I hope it is correct."));
        // A response cut at the stop sequence: the harness appends "I hope it is correct." before matching.
        Assert.Equal("$7$", MathAnswer.FinalAnswer("Final Answer: The final answer is $7$. "));
        Assert.Equal(MathAnswer.Invalid, MathAnswer.FinalAnswer("Final Answer: The final answer is $7$."));
        Assert.Equal(MathAnswer.Invalid, MathAnswer.FinalAnswer("The answer is 7."));
    }

    [Fact]
    public void Math500_Scores_Final_Answer_And_Boxed_Filters()
    {
        var doc = new GenDoc("Problem", MathAnswer.Gold("We get $\\boxed{\\frac{1}{2}}$."));
        Assert.Equal("\\frac{1}{2}", doc.Target);
        Assert.Equal(1, Math500.Scorers[0].Score("Final Answer: The final answer is $\\frac12$. I hope it is correct.", doc));
        Assert.Equal(0, Math500.Scorers[0].Score("It is \\boxed{\\frac{1}{2}}.", doc));  // no phrase: invalid for the harness's filter
        Assert.Equal(1, Math500.Scorers[1].Score("It is \\boxed{\\frac{1}{2}}.", doc));  // the boxed filter finds it
        Assert.Equal(0, Math500.Scorers[1].Score("It is \\boxed{2}.", doc));
    }
}
