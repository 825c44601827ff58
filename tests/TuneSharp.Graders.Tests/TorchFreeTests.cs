using System.Text.Json;

namespace TuneSharp.Graders.Tests;

/// <summary>The graders library is used by tools that must not receive libtorch: its restored package closure has none.</summary>
public class TorchFreeTests
{
    [Theory]
    [InlineData("src/TuneSharp.Graders")]
    [InlineData("tests/TuneSharp.Graders.Tests")]
    public void PackageClosure_HasNoTorchSharpOrLibtorch(string project)
    {
        string assets = Path.Combine(Support.RepoRoot, project, "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} is missing: the project was not restored");
        using var doc = JsonDocument.Parse(File.ReadAllText(assets));
        var libraries = doc.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains(libraries, l => l.StartsWith("JsonSchema.Net/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)
                                              || l.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }
}
