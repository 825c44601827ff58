namespace TuneSharp.Graders;

/// <summary>
/// A grader built from a definition by <see cref="GraderFactory"/>. Implementations are immutable and thread-safe:
/// one instance grades many samples concurrently (call <see cref="GradeAsync"/> from as many tasks as you like).
/// Throws <see cref="GraderTemplateException"/> when a template names something the item does not have (a data or
/// configuration error); problems of the sample itself (unparsable judge reply, output that is not JSON, a regex
/// timeout) come back as a result with <see cref="GradeResult.Error"/> set.
/// </summary>
public interface IGrader
{
    /// <summary>The definition's <c>name</c>.</summary>
    string Name { get; }

    Task<GradeResult> GradeAsync(GraderContext context, CancellationToken cancellationToken = default);
}
