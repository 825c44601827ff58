using System.Text.Json.Nodes;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Peft;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Peft.Tests;

public class ModulesToSaveTests
{
    [Fact]
    public void ModulesToSave_AreTrainable_SavedUnderTheirPeftKeys_AndLoadBack()
    {
        var settings = Tiny.Lora("q_proj", "v_proj") with { ModulesToSave = ["embed_tokens"] };
        var policy = new LoraPolicy(settings);
        using var model = policy.LoadModel(Tiny.BaseDir);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Contains("model.embed_tokens.weight", trainable);
        Assert.DoesNotContain("model.norm.weight", trainable);
        Assert.All(trainable.Where(n => n != "model.embed_tokens.weight"), n => Assert.True(AdapterModel.IsAdapterParameter(n), n));

        using (no_grad()) model.Model.EmbedTokens.Weight.add_(0.25); // as if trained
        string dir = Directory.CreateTempSubdirectory("tunesharp-mts").FullName;
        try
        {
            AdapterIO.Save(dir, model, settings, Tiny.BaseDir);
            using (var f = SafeTensorsFile.Open(Path.Combine(dir, AdapterIO.WeightsFile)))
                Assert.Contains("base_model.model.model.embed_tokens.weight", f.Tensors.Keys); // PEFT's key (adapter name removed)
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, AdapterIO.ConfigFile)))!;
            Assert.Equal("embed_tokens", config["modules_to_save"]![0]!.GetValue<string>());

            using var loaded = AdapterIO.Load(dir, Tiny.BaseDir);
            Assert.Equal(["embed_tokens"], loaded.Policy.Settings.ModulesToSave);
            Assert.True(loaded.Model.Model.EmbedTokens.Weight.equal(model.Model.EmbedTokens.Weight).all().item<bool>());
        }
        finally { Directory.Delete(dir, true); }
    }
}
