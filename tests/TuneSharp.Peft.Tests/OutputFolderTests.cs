using System.Text.Json.Nodes;
using TorchSharp;
using TuneSharp.Models;
using TuneSharp.Peft.Outputs;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

/// <summary>Adapter and model folders carry the trained chat template in their tokenizer files and are written atomically.</summary>
public sealed class OutputFolderTests : IDisposable
{
    const string Template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}";
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-outputs").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static string Stories => Fixtures.Get("models/stories260K-hf");

    [Fact]
    public void AdapterFolder_HasTheTokenizerWithTheTrainedTemplate_BothWaysTransformersReadsIt()
    {
        var settings = LoraSettings.Create(4, 8, "q_proj");
        using var model = new LoraPolicy(settings).LoadModel(Stories);
        string dir = Path.Combine(_root, "adapter");
        var problems = AdapterFolder.Save(dir, model, settings, Stories, Stories, Template);
        Assert.Empty(problems);

        Assert.Equal(Template, File.ReadAllText(Path.Combine(dir, "chat_template.jinja")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!.AsObject();
        Assert.Equal(Template, (string?)config["chat_template"]);
        Assert.Equal("LlamaTokenizer", (string?)config["tokenizer_class"]); // the rest of the base's config is kept
        foreach (var f in new[] { "tokenizer.json", "tokenizer.model", "special_tokens_map.json", AdapterIO.ConfigFile, AdapterIO.WeightsFile })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Stories, "tokenizer.json")), File.ReadAllBytes(Path.Combine(dir, "tokenizer.json")));
        // The content is copied, not a read-only source's mode.
        Assert.False(new FileInfo(Path.Combine(dir, "tokenizer.json")).IsReadOnly);
        Assert.Equal(Template, HfTokenizer.Load(dir).ChatTemplate);
        Assert.Equal([dir], Directory.GetFileSystemEntries(_root)); // no staging folder left
    }

    [Fact]
    public void AdapterFolder_ReportsVllmProblems()
    {
        var settings = LoraSettings.Create(4, 8, "q_proj") with { UseDora = true };
        using var model = new LoraPolicy(settings).LoadModel(Stories);
        Assert.Contains("DoRA", Assert.Single(AdapterFolder.Save(Path.Combine(_root, "a"), model, settings, Stories, Stories, null)));
    }

    [Fact]
    public void ModelFolder_WithoutATemplate_KeepsTheBaseTokenizerConfig_AndNamesTheSavedDtype()
    {
        using var model = ModelLoader.Load(Stories);
        model.to(ScalarType.BFloat16);
        string dir = Path.Combine(_root, "m");
        ModelFolder.Save(dir, model, Stories, Stories, null, replace: false);
        Assert.Equal(File.ReadAllText(Path.Combine(Stories, "tokenizer_config.json")), File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));
        Assert.False(File.Exists(Path.Combine(dir, "chat_template.jinja")));
        Assert.Equal("bfloat16", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["torch_dtype"]);
        using var reloaded = ModelLoader.Load(dir, new ModelLoadOptions { DType = ScalarType.BFloat16 });
        Assert.Equal(model.named_parameters().Count(), reloaded.named_parameters().Count());

        var e = Assert.Throws<IOException>(() => ModelFolder.Save(dir, model, Stories, Stories, Template, replace: false));
        Assert.Contains("not empty", e.Message);
        ModelFolder.Save(dir, model, Stories, Stories, Template, replace: true);
        Assert.Equal(Template, HfTokenizer.Load(dir).ChatTemplate);
    }
}
