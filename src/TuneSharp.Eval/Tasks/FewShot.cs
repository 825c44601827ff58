namespace TuneSharp.Eval.Tasks;

/// <summary>
/// Few-shot context as the harness builds it: description + the shots (each "text + delimiter + target") joined and
/// followed by the fewshot delimiter "\n\n", then the item's own text. Shots are the first K of the few-shot source
/// (the harness's <c>first_n</c> sampler); when the source is the evaluated split itself the item is left out.
/// </summary>
public static class FewShot
{
    public const string Delimiter = "\n\n";

    public static string Prefix<T>(string description, IReadOnlyList<T> source, int k, T current, Func<T, string> shotText)
        where T : class
    {
        if (k == 0) return description;
        var shots = source.Where(s => !ReferenceEquals(s, current)).Take(k).Select(shotText).ToList();
        if (shots.Count < k)
            throw new InvalidOperationException($"{k} few-shot examples were asked for but the few-shot source has only {shots.Count}");
        return description + string.Join(Delimiter, shots) + Delimiter;
    }
}
