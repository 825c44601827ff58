using TuneSharp.Eval.Scoring;
using TuneSharp.Eval.Tasks;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Eval.Tests;

/// <summary>
/// The shared-prefix scorer equals one forward per choice (tolerance 1e-4 absolute on summed fp32 log-likelihoods: the
/// cached path runs the explicit attention kernel, the plain one the fused kernel) with fewer forwarded tokens, and
/// leaks no tensors.
/// </summary>
public sealed class ScorerTests(Stories stories) : IClassFixture<Stories>
{
    EvalSession Session(int fewshot, int limit) => new(stories.Bundle.Model, stories.Bundle.Tokenizer, stories.Bundle.StopTokenIds,
        new EvalOptions { DataDir = Stories.DataRoot, NumFewshot = fewshot, Limit = limit });

    [Theory]
    [InlineData("mmlu_anatomy", 1)]  // shared few-shot prefix + question, short continuations
    [InlineData("winogrande", 0)]    // different contexts: only their common start is shared
    [InlineData("hellaswag", 0)]     // long endings, rows of different lengths (right padding)
    public void Shared_Prefix_Equals_One_Forward_Per_Choice_With_Less_Work(string task, int fewshot)
    {
        var shared = Session(fewshot, 2);
        var naive = Session(fewshot, 2);
        var plan = ((MultipleChoiceTask)TaskRegistry.Resolve(task, shared.Options)).Plan(shared).Items;
        foreach (var (_, requests) in plan)
        {
            var a = shared.Scorer.ScoreShared(requests);
            var b = naive.Scorer.ScoreIndependent(requests, rowsPerForward: 1);
            for (int c = 0; c < a.Length; c++)
            {
                Assert.Equal(b[c].LogLikelihood, a[c].LogLikelihood, 1e-4);
                Assert.Equal(b[c].IsGreedy, a[c].IsGreedy);
            }
        }
        Assert.True(shared.Scorer.ForwardedTokens < naive.Scorer.ForwardedTokens,
            $"{shared.Scorer.ForwardedTokens} shared vs {naive.Scorer.ForwardedTokens} naive tokens");
    }

    [Fact]
    public void Truncation_Keeps_The_Last_MaxLength_Tokens_Like_The_Harness()
    {
        var r = new ScoreRequest([1, 2, 3, 4, 5], [6, 7]);
        var w = r.Window(4);                  // whole [1..7][-5:] = [3..7], input without the last token
        Assert.Equal([3, 4, 5, 6], w.Input);
        Assert.Equal(2, w.First);             // positions 2, 3 predict 6, 7
        Assert.Equal([6, 7], w.Targets);
        Assert.Throws<ArgumentException>(() => new ScoreRequest([1], []).Window(4));
    }

    [Fact]
    public void Scoring_Leaks_No_Tensors()
    {
        var session = Session(1, 1);
        var requests = ((MultipleChoiceTask)TaskRegistry.Resolve("mmlu_anatomy", session.Options)).Plan(session).Items[0].Requests;
        Assert.Equal(0, LiveTensors.GrowthOver(3, () =>
        {
            session.Scorer.ScoreShared(requests);
            session.Scorer.ScoreIndependent(requests, 2);
        }));
    }
}

/// <summary>Request encoding and rolling windows as lm-evaluation-harness builds them.</summary>
public sealed class RequestTests
{
    static RequestEncoder Encoder(bool bos = false) => new(Tokenizer.Tok.Value, bos);

    [Fact]
    public void Context_Trailing_Space_Moves_To_The_Continuation()
    {
        var e = Encoder();
        var a = e.Pair("Question: Why?\nAnswer: ", "Yes");    // the space moves: scored as " Yes"
        var b = e.Pair("Question: Why?\nAnswer:", " Yes");
        Assert.Equal(b.Context, a.Context);
        Assert.Equal(b.Continuation, a.Continuation);
        Assert.Equal(e.Encode("Question: Why?\nAnswer: Yes"), b.Context.Concat(b.Continuation).ToArray());
    }

    [Fact]
    public void Empty_Context_Is_The_Bos_Token_And_AddBos_Prefixes_Every_Text()
    {
        var tok = Tokenizer.Tok.Value;
        Assert.Equal(new[] { tok.BosTokenId!.Value }, Encoder().Pair("", "Once upon a time").Context);
        Assert.Equal(tok.BosTokenId!.Value, Encoder(bos: true).Pair("Once", " upon").Context[0]);
        Assert.NotEqual(tok.BosTokenId!.Value, Encoder().Pair("Once", " upon").Context[0]);
    }

    [Theory]
    [InlineData(3, 5)]   // shorter than a window
    [InlineData(5, 5)]   // exactly one window
    [InlineData(12, 5)]  // three windows, the last partial
    [InlineData(10, 1)]
    public void Rolling_Windows_Predict_Every_Token_Once(int n, int max)
    {
        var tokens = Enumerable.Range(10, n).ToArray();
        var windows = RollingWindows.Of(tokens, prefixToken: 1, max);
        Assert.Equal(tokens, windows.SelectMany(w => w.Continuation).ToArray());
        Assert.Equal([1], windows[0].Context);
        foreach (var w in windows)
        {
            Assert.True(w.Context.Length + w.Continuation.Length <= max + 1);
            Assert.Equal(w.Window(max).Input.Length, w.Context.Length + w.Continuation.Length - 1); // never truncated
        }
        if (n == 12) Assert.Equal([14], windows[1].Context); // a full window keeps one token of context
    }
}
