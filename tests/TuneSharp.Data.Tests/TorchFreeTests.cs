using System.Text.Json;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests;

/// <summary>
/// The data and tokenizer libraries do no tensor math, so a tool built on them must not receive libtorch (~500 MB per
/// output folder). Checked on what NuGet restored for each project (obj/project.assets.json: the whole package closure).
/// </summary>
public class TorchFreeTests
{
    [Theory]
    [InlineData("TuneSharp.Data")]
    [InlineData("TuneSharp.Tokenizers")]
    public void PackageClosure_HasNoTorchSharpOrLibtorch(string project)
    {
        string assets = Path.Combine(Fixtures.RepoRoot, "src", project, "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} is missing: the project was not restored");
        using var doc = JsonDocument.Parse(File.ReadAllText(assets));
        Assert.Equal(project, doc.RootElement.GetProperty("project").GetProperty("restore").GetProperty("projectName").GetString());
        var libraries = doc.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name).ToList();
        Assert.DoesNotContain(libraries, l => l.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)
                                              || l.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }
}
