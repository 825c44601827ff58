using TuneSharp.Data.Encoding;
using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

/// <summary>method.kto: TRL KTOConfig names and defaults; what the KTO recipe cannot do is refused at its key.</summary>
public sealed class KtoConfigTests : ConfigTestBase
{
    [Fact]
    public void KtoSection_Binds_AndDefaultsAsTrl()
    {
        var kto = Parse(Minimal, "method.stage=kto", "method.kto.beta=0.2", "method.kto.desirable_weight=1.33",
            "method.kto.undesirable_weight=0.5", "method.kto.prompt_truncation=keep_start");
        Assert.Equal(Stage.Kto, kto.Method.Stage);
        Assert.Equal(new KtoSection { Beta = 0.2, DesirableWeight = 1.33, UndesirableWeight = 0.5, PromptTruncation = PromptTruncation.KeepStart },
            kto.Method.Kto);
        Assert.Equal(new KtoSection { Beta = 0.1, DesirableWeight = 1.0, UndesirableWeight = 1.0, PromptTruncation = PromptTruncation.KeepEnd },
            new KtoSection());
    }

    [Fact]
    public void KtoKey_InADpoConfig_IsAnError_NamingTheStage()
    {
        var ex = Fails(Minimal, "method.stage=dpo", "method.kto.desirable_weight=2");
        Assert.Equal("override 'method.kto.desirable_weight=2': 'method.kto.desirable_weight' belongs to method.stage kto, this config has stage dpo",
            ex.Errors.Single().ToString());
    }

    [Theory]
    [InlineData("data.packing=true", "data.packing", "'data.packing' is not supported by method.stage kto")]
    [InlineData("train.micro_batch_size=1", "train.micro_batch_size", "method.stage kto needs at least 2 examples per optimizer step")]
    [InlineData("method.kto.desirable_weight=0", "method.kto.desirable_weight", "must be > 0")]
    public void Kto_RefusesWhatItCannotDo_NamingTheKey(string setting, string key, string message)
    {
        var ex = Fails(Minimal, "method.stage=kto", setting, "train.grad_accum=1");
        Assert.Equal(key, ex.Key);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void OneExamplePerMicroBatch_IsAccepted_WhenTheStepHasTwo()
    {
        var cfg = Parse(Minimal, "method.stage=kto", "train.micro_batch_size=1", "train.grad_accum=2");
        Assert.Equal(1, cfg.Train.MicroBatchSize);
    }
}
