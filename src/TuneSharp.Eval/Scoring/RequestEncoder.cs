using TuneSharp.Tokenizers;

namespace TuneSharp.Eval.Scoring;

/// <summary>
/// Text to token requests exactly as lm-evaluation-harness's HF model does: the context's trailing whitespace moves to
/// the front of the continuation; the continuation's tokens are those of <c>context + continuation</c> after the
/// context's own tokens (so a merge across the boundary is scored as the continuation's); an empty context becomes the
/// prefix token (BOS, else EOS). Special tokens are added only when <see cref="AddBos"/> is on (the harness's
/// <c>add_bos_token</c>, off by default).
/// </summary>
public sealed class RequestEncoder(HfTokenizer tokenizer, bool addBos = false)
{
    public HfTokenizer Tokenizer => tokenizer;
    public bool AddBos => addBos;

    /// <summary>The token that stands for an empty context (the harness's <c>prefix_token_id</c>).</summary>
    public int PrefixToken => tokenizer.BosTokenId ?? tokenizer.EosTokenId
        ?? throw new InvalidOperationException("the tokenizer has neither a BOS nor an EOS token to stand for an empty context");

    public int[] Encode(string text) => tokenizer.Encode(text, addSpecialTokens: addBos);

    public ScoreRequest Pair(string context, string continuation)
    {
        if (context.Length == 0) return new ScoreRequest([PrefixToken], Encode(continuation));
        int spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0)
        {
            continuation = context[^spaces..] + continuation;
            context = context[..^spaces];
        }
        var whole = Encode(context + continuation);
        var ctx = Encode(context);
        return new ScoreRequest(ctx, whole[ctx.Length..]);
    }
}
