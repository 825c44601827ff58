using TuneSharp.Peft;
using TuneSharp.Peft.Outputs;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Inference.Tests;

/// <summary>The one model (+ adapter) loader: the adapter's own tokenizer and template when it carries them; folder notes; file names in errors.</summary>
public sealed class ModelBundleTests : IDisposable
{
    const string Trained = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}";
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-bundle").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static string Stories => Fixtures.Get("models/stories260K-hf");

    string Adapter(string? template, bool withTokenizer)
    {
        var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj");
        using var model = new LoraPolicy(settings).LoadModel(Stories, seed: 1);
        using (no_grad())
            foreach (var (_, layer) in model.Adapters()) layer.LoraB.normal_(0, 0.05, new TorchSharp.torch.Generator().manual_seed(2));
        string dir = Path.Combine(_root, $"adapter-{Guid.NewGuid():N}");
        if (withTokenizer) AdapterFolder.Save(dir, model, settings, Stories, Stories, template);
        else AdapterIO.Save(dir, model, settings, Stories);
        return dir;
    }

    [Fact]
    public void AdapterWithItsTrainedTemplate_IsTheTokenizerUsed()
    {
        string adapter = Adapter(Trained, withTokenizer: true);
        using var bundle = ModelBundle.Load(Stories, adapter);
        Assert.Equal(adapter, bundle.TokenizerDirectory);
        Assert.Equal("adapter", bundle.TokenizerOwner);
        Assert.Equal(Trained, bundle.Tokenizer.ChatTemplate);
        Assert.NotNull(bundle.Policy);
        Assert.Empty(bundle.Notes);
        // The adapter is applied: its logits equal AdapterIO's.
        using var reference = AdapterIO.Load(adapter, Stories);
        using var ids = tensor(new long[] { 1, 403, 407, 261 }, [1, 4]);
        using var a = bundle.Model.forward(ids);
        using var b = reference.Model.forward(ids);
        Assert.True(a.equal(b).all().item<bool>());
    }

    [Fact]
    public void AdapterWithoutTokenizerFiles_UsesTheModelsTokenizer()
    {
        using var bundle = ModelBundle.Load(Stories, Adapter(null, withTokenizer: false));
        Assert.Equal(Stories, bundle.TokenizerDirectory);
        Assert.Equal("model", bundle.TokenizerOwner);
        Assert.Null(bundle.Tokenizer.ChatTemplate);
    }

    [Fact]
    public void MissingTokenizerConfig_IsANote_NotSilent()
    {
        string dir = Path.Combine(_root, "model");
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json", "generation_config.json" })
            File.Copy(Path.Combine(Stories, f), Path.Combine(dir, f));
        using var bundle = ModelBundle.Load(dir);
        Assert.Contains("no tokenizer_config.json", Assert.Single(bundle.Notes));
        Assert.Contains(dir, bundle.Notes[0]);
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    [InlineData("special_tokens_map.json")]
    [InlineData("generation_config.json")]
    public void TruncatedJson_ErrorNamesTheFile(string file)
    {
        string dir = Path.Combine(_root, "model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Stories)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string text = File.ReadAllText(Path.Combine(dir, file));
        File.WriteAllText(Path.Combine(dir, file), text[..(text.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => ModelBundle.Load(dir));
        Assert.Contains(Path.Combine(dir, file), e.Message);
        Assert.Contains("invalid JSON", e.Message);
    }
}
