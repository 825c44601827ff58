using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using Xunit;

namespace TuneSharp.Data.Tests.Templates;

/// <summary>
/// Engine semantics (whitespace control, trim/lstrip blocks, loop variables, scoping, namespace, slicing, filters,
/// tests, methods, undefined, errors) checked against Jinja2's output for the cases in engine-cases.json.
/// </summary>
public sealed class EngineReferenceTests
{
    static readonly JsonObject Cases = ReferenceFixtures.Load("engine-cases.json");

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases["cases"]!.AsArray()) data.Add(c!["id"]!.GetValue<string>());
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Case_MatchesJinja2(string id)
    {
        var c = Cases["cases"]!.AsArray().Single(x => x!["id"]!.GetValue<string>() == id)!.AsObject();
        string source = c["template"]!.GetValue<string>();
        var vars = ReferenceFixtures.Variables(c["variables"]?.AsObject());
        var options = new JinjaRenderOptions { Now = () => ReferenceFixtures.FixedNow };
        string? problem = ReferenceFixtures.Compare(() => JinjaTemplate.Compile(source, id).Render(vars, options), c);
        Assert.True(problem == null, $"{id}: {problem}\n  template: {source}");
    }
}
