using TuneSharp.Data.Encoding;
using TuneSharp.Training.Config;
using TuneSharp.Training.Losses.Preference;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

/// <summary>method.sft / method.pretrain: each stage's settings in its own section; another stage's key is an error naming it.</summary>
public sealed class ConfigStageSectionTests : ConfigTestBase
{
    [Fact]
    public void StageSections_Bind_AndDefault()
    {
        var sft = Parse(Minimal, "method.sft.train_on=last_assistant", "method.sft.truncation=drop");
        Assert.Equal(new SftSection { TrainOn = TrainOn.LastAssistant, Truncation = Truncation.Drop }, sft.Method.Sft);
        Assert.Equal(new PretrainSection(), sft.Method.Pretrain);
        var pre = Parse(Minimal, "method.stage=pretrain", "method.pretrain.text_split=paragraph");
        Assert.Equal(TextSplit.Paragraph, pre.Method.Pretrain.TextSplit);
    }

    [Fact]
    public void KeyOfAnotherStage_IsAnError_NamingItsStage()
    {
        var ex = Fails(Minimal, "method.pretrain.text_split=paragraph");
        Assert.Equal("override 'method.pretrain.text_split=paragraph': 'method.pretrain.text_split' belongs to method.stage pretrain, this config has stage sft",
            ex.Errors.Single().ToString());
        Assert.Equal("method.pretrain.text_split", ex.Key);

        string yaml = Minimal.Replace("type: lora", "type: lora\n  stage: pretrain\n  sft:\n    train_on: all");
        var inFile = Fails(yaml);
        Assert.Equal($"{Source}:7:15: 'method.sft.train_on' belongs to method.stage sft, this config has stage pretrain", inFile.Message);
    }

    [Fact]
    public void DpoSection_Binds_AndDefaultsAsTrl()
    {
        var dpo = Parse(Minimal, "method.stage=dpo", "method.dpo.beta=0.2", "method.dpo.loss_type=robust", "method.dpo.label_smoothing=0.1",
            "method.dpo.rpo_alpha=1", "method.dpo.prompt_truncation=keep_start");
        Assert.Equal(new DpoSection { Beta = 0.2, LossType = DpoLossType.Robust, LabelSmoothing = 0.1, RpoAlpha = 1,
            PromptTruncation = PromptTruncation.KeepStart }, dpo.Method.Dpo);
        Assert.Equal(new DpoSection { Beta = 0.1, LossType = DpoLossType.Sigmoid, LabelSmoothing = 0, RpoAlpha = null,
            PromptTruncation = PromptTruncation.KeepEnd }, new DpoSection());
    }

    [Fact]
    public void DpoKey_InAnSftConfig_IsAnError_NamingTheStage()
    {
        var ex = Fails(Minimal, "method.dpo.beta=0.5");
        Assert.Equal("override 'method.dpo.beta=0.5': 'method.dpo.beta' belongs to method.stage dpo, this config has stage sft",
            ex.Errors.Single().ToString());
    }

    [Theory]
    [InlineData("data.packing=true", "data.packing", "'data.packing' is not supported by method.stage dpo")]
    public void Dpo_RefusesWhatItCannotDo_NamingTheKey(string setting, string key, string message)
    {
        var ex = Fails(Minimal, "method.stage=dpo", setting);
        Assert.Equal(key, ex.Key);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void OrpoAndSimpoSections_Bind_AndDefaultAsTrl()
    {
        var orpo = Parse(Minimal, "method.stage=orpo", "method.orpo.beta=0.25", "method.orpo.prompt_truncation=keep_start");
        Assert.Equal(new OrpoSection { Beta = 0.25, PromptTruncation = PromptTruncation.KeepStart }, orpo.Method.Orpo);
        var simpo = Parse(Minimal, "method.stage=simpo", "method.simpo.beta=2", "method.simpo.gamma=1", "method.simpo.label_smoothing=0.1");
        Assert.Equal(new SimpoSection { Beta = 2, Gamma = 1, LabelSmoothing = 0.1 }, simpo.Method.Simpo);
        // TRL ORPOConfig beta 0.1; CPOConfig beta 0.1, simpo_gamma 0.5, label_smoothing 0; truncation_mode keep_end.
        Assert.Equal(new OrpoSection { Beta = 0.1, PromptTruncation = PromptTruncation.KeepEnd }, new OrpoSection());
        Assert.Equal(new SimpoSection { Beta = 0.1, Gamma = 0.5, LabelSmoothing = 0, PromptTruncation = PromptTruncation.KeepEnd }, new SimpoSection());
    }

    [Theory]
    [InlineData("orpo", "full")]
    [InlineData("orpo", "freeze")]
    [InlineData("simpo", "full")]
    [InlineData("simpo", "qlora")]
    public void ReferenceFreeStages_AcceptEveryMethod(string stage, string type)
    {
        var cfg = Parse(Minimal, [$"method.stage={stage}", $"method.type={type}", .. type == "freeze" ? ["method.freeze.trainable_layers=[-1]"] : Array.Empty<string>()]);
        Assert.Equal(stage, ConfigNames.Of(cfg.Method.Stage));
    }

    [Theory]
    [InlineData("orpo", "data.packing=true", "data.packing", "'data.packing' is not supported by method.stage orpo")]
    [InlineData("simpo", "data.packing=true", "data.packing", "'data.packing' is not supported by method.stage simpo")]
    [InlineData("simpo", "method.simpo.gamma=-1", "method.simpo.gamma", "method.simpo.gamma")]
    [InlineData("orpo", "method.orpo.beta=0", "method.orpo.beta", "method.orpo.beta")]
    [InlineData("orpo", "method.simpo.beta=2", "method.simpo.beta", "'method.simpo.beta' belongs to method.stage simpo, this config has stage orpo")]
    public void OrpoAndSimpo_RefuseWhatTheyCannotDo_NamingTheKey(string stage, string setting, string key, string message)
    {
        var ex = Fails(Minimal, $"method.stage={stage}", setting);
        Assert.Equal(key, ex.Key);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void UnknownKeyInAStageSection_ListsThatStagesKeys()
    {
        var ex = Fails(Minimal.Replace("type: lora", "type: lora\n  pretrain: {oops: 1}"));
        Assert.EndsWith("unknown key 'method.pretrain.oops' (valid keys: text_split)", ex.Message);
    }

    [Fact]
    public void ResolvedConfig_WritesOnlyTheCurrentStageSection()
    {
        string sft = ConfigLoader.ToYaml(Parse(Minimal));
        Assert.Contains("  sft:\n    train_on: assistant\n    truncation: truncate\n", sft);
        Assert.DoesNotContain("pretrain:", sft);
        string pre = ConfigLoader.ToYaml(Parse(Minimal, "method.stage=pretrain"));
        Assert.Contains("  pretrain:\n    text_split: file\n", pre);
        Assert.DoesNotContain("sft:", pre);
    }

    [Fact]
    public void Template_WithPretraining_IsRejected()
    {
        var ex = Fails(Minimal, "method.stage=pretrain", "data.template=chatml");
        Assert.Equal("'data.template' is not used by method.stage pretrain (raw text is not rendered with a chat template); remove it",
            ex.Errors.Single().Message);
    }

    [Theory]
    [InlineData("train_on", "all")]
    [InlineData("truncation", "drop")]
    public void MovedKey_OldPlace_SaysTheNewOne(string key, string value)
    {
        string yaml = Minimal.Replace("    - path: d.jsonl", $"    - path: d.jsonl\n  {key}: {value}");
        var ex = Fails(yaml);
        Assert.Equal($"{Source}:8:3: 'data.{key}' moved to 'method.sft.{key}' (it only applies to method.stage sft)", ex.Message);
    }
}
