using System.Text.Json.Nodes;

namespace TuneSharp.Graders.Graders;

/// <summary>Result construction shared by the graders, and the one place a sample-side failure becomes an errored result.</summary>
internal static class Results
{
    /// <summary>Runs <paramref name="grade"/>; a <see cref="SampleException"/> becomes a result with score <paramref name="lowest"/>.</summary>
    public static async Task<GradeResult> Guard(string name, double lowest, Func<Task<GradeResult>> grade)
    {
        try
        {
            return await grade().ConfigureAwait(false);
        }
        catch (SampleException e)
        {
            return new GradeResult { Name = name, Score = lowest, Passed = false, Error = e.Message };
        }
    }

    public static Task<GradeResult> Guard(string name, double lowest, Func<GradeResult> grade) =>
        Guard(name, lowest, () => Task.FromResult(grade()));

    public static GradeResult Binary(string name, bool ok, JsonObject details) =>
        new() { Name = name, Score = ok ? 1 : 0, Passed = ok, Details = details };
}
