using System.Text.Json.Nodes;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Testing;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public sealed class AdapterIOTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "tunesharp-peft-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("lora_llama_tied")]
    [InlineData("dora_llama_tied")]
    public void PeftFixture_LoadsAndMatchesReference(string name)
    {
        string dir = Fixtures.Repo("peft/" + name);
        using var bundle = AdapterIO.Load(dir, Tiny.BaseDir);
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        using var ids = expected.Load("input_ids");
        using var logits = bundle.Model.forward(ids);
        using var want = expected.Load("logits");
        Assert.True(Tiny.MaxAbsDiff(want, logits) < 1e-5, $"max diff {Tiny.MaxAbsDiff(want, logits)}");
        using (bundle.Model.AdaptersDisabled())
        {
            using var baseLogits = bundle.Model.forward(ids);
            using var wantBase = expected.Load("base_logits");
            Assert.True(Tiny.MaxAbsDiff(wantBase, baseLogits) < 1e-4);
        }
        // and merging the loaded adapter gives the same logits
        using var merged = AdapterMerge.Merge(bundle.Model);
        using var mergedLogits = merged.forward(ids);
        Assert.True(Tiny.MaxAbsDiff(want, mergedLogits) < 1e-5);
    }

    [Fact]
    public void PeftFixture_ConfigIsRead()
    {
        var lora = AdapterIO.ReadConfig(Fixtures.Repo("peft/lora_llama_tied"));
        Assert.Equal(4, lora.R);
        Assert.Equal(8, lora.Alpha);
        Assert.Equal(0.05, lora.Dropout);
        Assert.Equal(["q_proj", "v_proj", "o_proj", "down_proj"], lora.Targets);
        Assert.Equal(2, lora.RankPattern["down_proj"]);
        Assert.Equal(2, lora.AlphaPattern["layers.1.self_attn.o_proj"]);
        var dora = AdapterIO.ReadConfig(Fixtures.Repo("peft/dora_llama_tied"));
        Assert.True(dora.UseDora && dora.UseRslora);
        Assert.Equal("gaussian", dora.Init);
        Assert.NotNull(dora.TargetRegex);
        Assert.Empty(dora.Targets);
    }

    [Fact]
    public void SaveThenLoad_RoundTrips()
    {
        var settings = Tiny.Lora("q_proj", "up_proj") with
        {
            UseDora = true,
            RankPattern = new Dictionary<string, int> { ["up_proj"] = 2 },
            AlphaPattern = new Dictionary<string, double> { ["q_proj"] = 3.5 },
        };
        using var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir, seed: 4);
        Tiny.Randomize(model, 5);
        AdapterIO.Save(_dir, model, settings, "tiny/llama");

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, AdapterIO.ConfigFile)))!.AsObject();
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);
        Assert.Equal("tiny/llama", (string?)config["base_model_name_or_path"]);
        Assert.Equal(8, (int)config["lora_alpha"]!);
        Assert.Equal(3.5, (double)config["alpha_pattern"]!["q_proj"]!);
        Assert.True((bool)config["use_dora"]!);
        Assert.True((bool)config["init_lora_weights"]!);
        Assert.Equal([.. config.Select(kv => kv.Key).Order(StringComparer.Ordinal)], config.Select(kv => kv.Key).ToList());
        using (var file = SafeTensorsFile.Open(Path.Combine(_dir, AdapterIO.WeightsFile)))
        {
            Assert.Equal([2L, 64], file.Info("base_model.model.model.layers.1.mlp.up_proj.lora_A.weight").Shape);
            Assert.Equal([64L], file.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector").Shape);
            Assert.Equal(2 * 2 * 3, file.Tensors.Count);
        }
        using var loaded = AdapterIO.Load(_dir, Tiny.BaseDir);
        using var ids = Tiny.Ids();
        using var a = model.forward(ids);
        using var b = loaded.Model.forward(ids);
        Assert.Equal(0.0, Tiny.MaxAbsDiff(a, b));
    }

    [Fact]
    public void AllLinear_IsSavedAsTheModuleNames()
    {
        var settings = Tiny.Lora(LoraSettings.AllLinear) with { Exclude = ["o_proj"] };
        using var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir);
        AdapterIO.Save(_dir, model, settings, null);
        var read = AdapterIO.ReadConfig(_dir);
        Assert.Equal(["q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj"], read.Targets);
        Assert.Equal(["o_proj"], read.Exclude);
    }

    [Fact]
    public void MismatchedAdapter_NamesTheKeys()
    {
        var settings = Tiny.Lora("q_proj");
        using (var model = new LoraPolicy(settings).LoadModel(Tiny.BaseDir)) AdapterIO.Save(_dir, model, settings, null);
        // Same files, but a model that also adapts v_proj and uses another rank.
        using var other = new LoraPolicy(LoraSettings.Create(2, 8, "q_proj", "v_proj")).LoadModel(Tiny.BaseDir);
        var e = Assert.Throws<InvalidDataException>(() => AdapterIO.LoadWeights(_dir, other));
        Assert.Contains(AdapterIO.WeightsFile, e.Message);
        Assert.Contains("missing tensor 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight'", e.Message);
        Assert.Contains("'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight' has shape [64, 4] but the model expects [64, 2]", e.Message);
    }

    [Fact]
    public void UnsupportedPeftFeatures_FailLoudly()
    {
        Directory.CreateDirectory(_dir);
        string Write(string json)
        {
            File.WriteAllText(Path.Combine(_dir, AdapterIO.ConfigFile), json);
            return _dir;
        }
        var e = Assert.Throws<NotSupportedException>(() => AdapterIO.ReadConfig(Write(
            """{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj"],"bias":"all"}""")));
        Assert.Contains("'bias'", e.Message);
        e = Assert.Throws<NotSupportedException>(() => AdapterIO.ReadConfig(Write(
            """{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj"],"layers_to_transform":[0]}""")));
        Assert.Contains("layers_to_transform", e.Message);
        // modules_to_save is supported (ModulesToSaveTests).
        Assert.Equal(["lm_head"], AdapterIO.ReadConfig(Write(
            """{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj"],"modules_to_save":["lm_head"]}""")).ModulesToSave);
        Assert.Throws<NotSupportedException>(() => AdapterIO.ReadConfig(Write("""{"peft_type":"IA3","r":4}""")));
        var d = Assert.Throws<InvalidDataException>(() => AdapterIO.ReadConfig(Write("""{"peft_type":"LORA","lora_alpha":8,"target_modules":["q_proj"]}""")));
        Assert.Contains("'r'", d.Message);
    }
}
