using System.Text.Json;
using System.Text.Json.Nodes;
using TuneSharp.Export.Ollama;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Export.Tests.Ollama;

/// <summary>
/// The C# Go-template evaluator against real Go: tests/fixtures/ollama/go-template-expected.json was written by
/// tools/ollama_templates/render.go (Go's text/template, Debian golang-go 1.19) from engine-cases.json (the template
/// language) and format-cases.json (every <see cref="ChatFormat"/> on every Modelfile probe, as Ollama shapes a chat).
/// </summary>
public sealed class GoTemplateFixtureTests
{
    const string Bos = "<s>", Eos = "</s>";
    static readonly string[] Systems = ["", "You are a helpful assistant."];

    static JsonArray Cases() => JsonNode.Parse(File.ReadAllText(Fixtures.Repo("ollama/go-template-expected.json")))!["cases"]!.AsArray();

    public static TheoryData<string> CaseNames() => [.. Cases().Select(c => c!["name"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Case_RendersExactlyAsGo(string name)
    {
        var c = Cases().Single(x => x!["name"]!.GetValue<string>() == name)!;
        string template = c["template"]!.GetValue<string>();
        string? expected = c["output"]?.GetValue<string>();
        Func<string> render = c["data"] is { } data
            ? () => GoTemplate.Parse(template).Execute(ToGo(data))
            : () => OllamaPrompt.Render(GoTemplate.Parse(template), Turns(c["messages"]!.AsArray()), c["system"]?.GetValue<string>());
        if (expected == null)
            Assert.Throws<GoTemplateException>(() => render()); // Go failed too (its message: c["error"])
        else
            Assert.Equal(expected, render());
    }

    /// <summary>Every layout the exporter may write is covered by the Go fixture on every probe, with and without a SYSTEM line.</summary>
    [Fact]
    public void EveryChatFormat_IsCoveredByTheGoFixture()
    {
        var wanted = FormatCases();
        if (Environment.GetEnvironmentVariable("TUNESHARP_WRITE_OLLAMA_CASES") == "1")
            File.WriteAllText(Path.Combine(Fixtures.RepoRoot, "tools", "ollama_templates", "format-cases.json"),
                wanted.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        var have = Cases().Select(c => Key(c!)).ToHashSet();
        var missing = wanted.Where(c => !have.Contains(Key(c!))).Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.True(missing.Count == 0,
            $"{missing.Count} format case(s) are not in the Go fixture (first: {missing.FirstOrDefault()}); regenerate it: see tools/ollama_templates/make_fixtures.sh");
    }

    static JsonArray FormatCases()
    {
        var cases = new JsonArray();
        foreach (var format in ChatFormat.Known(Bos, Eos))
            for (int p = 0; p < Modelfile.Probes.Count; p++)
                foreach (string system in Systems)
                    cases.Add(new JsonObject
                    {
                        ["name"] = $"format-{format.Name}-probe{p}{(system.Length > 0 ? "-system" : "")}",
                        ["template"] = format.GoTemplate,
                        ["messages"] = new JsonArray([.. Modelfile.Probes[p].Select(t => (JsonNode)new JsonObject { ["role"] = t.Role, ["content"] = t.Content })]),
                        ["system"] = system,
                    });
        return cases;
    }

    static string Key(JsonNode c) => c["template"]!.GetValue<string>() + "\u0000" + c["messages"]?.ToJsonString() + "\u0000" + c["system"]?.GetValue<string>();

    static List<ChatTurn> Turns(JsonArray messages) =>
        [.. messages.Select(m => new ChatTurn(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>()))];

    /// <summary>JSON as Go's encoding/json decodes it into interface{}: numbers are float64.</summary>
    static object? ToGo(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => ToGo(kv.Value)),
        JsonArray a => a.Select(ToGo).ToList(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonValue v => v.GetValue<double>(),
        _ => throw new ArgumentException($"unexpected JSON {node}"),
    };
}
