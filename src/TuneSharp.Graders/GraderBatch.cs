namespace TuneSharp.Graders;

/// <summary>Grading many samples with one grader, in input order, at most <c>maxConcurrency</c> at a time.</summary>
public static class GraderBatch
{
    /// <summary>
    /// Grades every context (results in the same order). Concurrency matters for score_model, whose judge calls
    /// overlap on the network; the local graders are CPU-bound and gain little past the core count.
    /// </summary>
    public static async Task<GradeResult[]> GradeManyAsync(this IGrader grader, IReadOnlyList<GraderContext> contexts,
        int maxConcurrency = 8, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grader);
        ArgumentNullException.ThrowIfNull(contexts);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        var results = new GradeResult[contexts.Count];
        await Parallel.ForAsync(0, contexts.Count,
            new ParallelOptions { MaxDegreeOfParallelism = maxConcurrency, CancellationToken = cancellationToken },
            async (i, ct) => results[i] = await grader.GradeAsync(contexts[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }
}
