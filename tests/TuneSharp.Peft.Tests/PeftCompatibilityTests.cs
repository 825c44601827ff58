using System.Text.Json.Nodes;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Peft.Tests;

/// <summary>Fields other tools read (issue 11 item 12): revision pins, tied embeddings in modules_to_save, vLLM limits.</summary>
public sealed class PeftCompatibilityTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "tunesharp-peftc-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    static JsonObject Config(LoraSettings s, string? baseModel) =>
        JsonNode.Parse(AdapterIO.ConfigJson(s, baseModel, ["q_proj"]))!.AsObject();

    [Theory]
    [InlineData("HuggingFaceTB/SmolLM2-135M@main", "HuggingFaceTB/SmolLM2-135M", "main")]
    [InlineData("org/name@0123456789abcdef0123456789abcdef01234567", "org/name", "0123456789abcdef0123456789abcdef01234567")]
    [InlineData("org/name", "org/name", null)]
    [InlineData("/models/a@b", "/models/a@b", null)]
    [InlineData("./runs/x@2", "./runs/x@2", null)]
    public void HubRevision_IsSplitIntoBaseModelAndRevision(string spec, string baseModel, string? revision)
    {
        var c = Config(Tiny.Lora("q_proj"), spec);
        Assert.Equal(baseModel, (string?)c["base_model_name_or_path"]);
        Assert.Equal(revision, (string?)c["revision"]);
    }

    [Fact]
    public void EmbeddingOnATiedModel_IsSavedWithEnsureWeightTying_AndLoadsBack()
    {
        var settings = Tiny.Lora("q_proj") with { ModulesToSave = ["embed_tokens"] }; // llama_tied: tie_word_embeddings
        using (var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir)) AdapterIO.Save(_dir, model, settings, null);
        var c = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, AdapterIO.ConfigFile)))!;
        Assert.True((bool)c["ensure_weight_tying"]!);
        Assert.True(AdapterIO.ReadConfig(_dir).EnsureWeightTying);
        using var loaded = AdapterIO.Load(_dir, Tiny.BaseDir);
        Assert.Equal(["embed_tokens"], loaded.Policy.Settings.ModulesToSave);
    }

    [Fact]
    public void PlainAdapter_SaysEnsureWeightTyingFalse()
    {
        var settings = Tiny.Lora("q_proj");
        using (var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir)) AdapterIO.Save(_dir, model, settings, null);
        Assert.False((bool)JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, AdapterIO.ConfigFile)))!["ensure_weight_tying"]!);
    }

    [Fact]
    public void LmHeadOnATiedModel_IsRefusedWhenTheAdapterIsBuilt()
    {
        var settings = Tiny.Lora("q_proj") with { ModulesToSave = ["lm_head"] };
        var e = Assert.Throws<ArgumentException>(() => new LoraPolicy(settings).LoadModel(Tiny.BaseDir));
        Assert.Contains("modules_to_save 'lm_head'", e.Message);
        Assert.Contains("tie_word_embeddings", e.Message);
        Assert.Contains("embed_tokens", e.Message);
    }

    [Fact]
    public void LmHeadOnAnUntiedModel_IsTrained()
    {
        var settings = Tiny.Lora("q_proj") with { ModulesToSave = ["lm_head"] };
        using var model = new LoraPolicy(settings).LoadModel(Fixtures.Repo("golden/mistral")); // tie_word_embeddings false
        Assert.Contains(model.named_parameters(), p => p.name == "lm_head.weight" && p.parameter.requires_grad);
    }

    [Fact]
    public void UnknownModuleToSave_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new LoraPolicy(Tiny.Lora("q_proj") with { ModulesToSave = ["score"] }).LoadModel(Tiny.BaseDir));
        Assert.Contains("modules_to_save 'score' matches no module", e.Message);
    }

    [Fact]
    public void UntiedEmbeddingCopyFromPeft_OnATiedModel_IsRefusedNamingTheFile()
    {
        var settings = Tiny.Lora("q_proj") with { ModulesToSave = ["embed_tokens"] };
        using (var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir)) AdapterIO.Save(_dir, model, settings, null);
        // As PEFT 0.18+ writes it when the embedding copy was trained apart from the head.
        string file = Path.Combine(_dir, AdapterIO.ConfigFile);
        var c = JsonNode.Parse(File.ReadAllText(file))!;
        c["ensure_weight_tying"] = false;
        File.WriteAllText(file, c.ToJsonString());
        var e = Assert.Throws<NotSupportedException>(() => AdapterIO.Load(_dir, Tiny.BaseDir));
        Assert.Contains(file, e.Message);
        Assert.Contains("ensure_weight_tying", e.Message);
    }

    [Fact]
    public void Vllm_ProblemsNameEachFeature()
    {
        Assert.Empty(VllmCompatibility.Problems(Tiny.Lora("q_proj") with { UseRslora = true }));
        Assert.Contains("DoRA", Assert.Single(VllmCompatibility.Problems(Tiny.Lora("q_proj") with { UseDora = true })));
        Assert.Contains("modules_to_save ([embed_tokens])", Assert.Single(VllmCompatibility.Problems(Tiny.Lora("q_proj") with { ModulesToSave = ["embed_tokens"] })));
        string pattern = Assert.Single(VllmCompatibility.Problems(Tiny.Lora("q_proj") with { RankPattern = new Dictionary<string, int> { ["q_proj"] = 2 } }));
        Assert.Contains("rank_pattern", pattern);
        Assert.Contains("q_proj", pattern);
    }
}
