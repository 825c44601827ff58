namespace TuneSharp.Eval.Tasks;

/// <summary>
/// One multiple-choice item, already in the harness's prompt form: <see cref="Query"/> is doc_to_text, the choices are
/// doc_to_choice, each scored as <c>" " + choice</c> after the query. With <see cref="ChoicesAreContexts"/> (WinoGrande's
/// partial scoring) the choices are contexts and the query is the one continuation scored after each of them.
/// </summary>
public sealed record McDoc(string Query, IReadOnlyList<string> Choices, int Gold)
{
    public bool ChoicesAreContexts { get; init; }

    /// <summary>TruthfulQA MC2: the first <c>TrueCount</c> choices are true, the rest false.</summary>
    public int? TrueCount { get; init; }

    public const string TargetDelimiter = " ";

    /// <summary>The item as a solved few-shot example: its text, the delimiter and its gold answer.</summary>
    public string FewshotText => ChoicesAreContexts
        ? Choices[Gold] + TargetDelimiter + Query
        : Query + TargetDelimiter + Choices[Gold];

    /// <summary>The (context, continuation) text pairs of the item after <paramref name="prefix"/> (description and shots).</summary>
    public IReadOnlyList<(string Context, string Continuation)> Requests(string prefix) => ChoicesAreContexts
        ? Choices.Select(c => (prefix + c, TargetDelimiter + Query)).ToList()
        : Choices.Select(c => (prefix + Query, TargetDelimiter + c)).ToList();
}
