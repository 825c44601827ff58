using System.Text.Json.Nodes;
using TuneSharp.Graders.Definitions;

namespace TuneSharp.Graders.Tests;

/// <summary>Small helpers: build a grader from JSON and grade one (item, output) pair.</summary>
internal static class Support
{
    public static IGrader Grader(string json, GraderServices? services = null) =>
        GraderFactory.Create(GraderDefinitionReader.Parse(json), services);

    public static Task<GradeResult> Grade(this IGrader grader, string itemJson, string output) =>
        grader.GradeAsync(GraderContext.Create(JsonNode.Parse(itemJson), output), TestContext.Current.CancellationToken);

    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TuneSharp.slnx"))) return dir.FullName;
            throw new DirectoryNotFoundException("TuneSharp.slnx not found above " + AppContext.BaseDirectory);
        }
    }
}
