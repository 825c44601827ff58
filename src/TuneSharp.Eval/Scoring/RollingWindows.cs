namespace TuneSharp.Eval.Scoring;

/// <summary>
/// The disjoint windows of lm-evaluation-harness's <c>loglikelihood_rolling</c> (context length 1): every token of a
/// document is predicted exactly once. The first window predicts the first <c>maxLength</c> tokens after the prefix
/// token; each next window predicts up to <c>maxLength</c> further tokens with the tokens before them as context, so that
/// input + prediction fill at most <c>maxLength</c> + 1 tokens.
/// </summary>
public static class RollingWindows
{
    public static IReadOnlyList<ScoreRequest> Of(int[] tokens, int prefixToken, int maxLength)
    {
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be >= 1");
        var windows = new List<ScoreRequest>();
        if (tokens.Length == 0) return windows;
        int first = Math.Min(maxLength, tokens.Length);
        // ([prefix] + tokens[:first-1], tokens[:first]) made disjoint: context = the prefix token alone.
        windows.Add(new ScoreRequest([prefixToken], tokens[..first]));
        int predicted = first;
        while (predicted < tokens.Length)
        {
            int count = Math.Min(tokens.Length - predicted, maxLength);
            int end = predicted + count;
            // Input tokens[end - maxLength - 1 .. end - 1] (clamped at 0), minus the overlap with the predicted part.
            int inputStart = Math.Max(0, end - maxLength - 1);
            var input = tokens[inputStart..(end - 1)];
            var context = input[..(input.Length - (count - 1))];
            windows.Add(new ScoreRequest(context, tokens[(end - count)..end]));
            predicted = end;
        }
        return windows;
    }
}
