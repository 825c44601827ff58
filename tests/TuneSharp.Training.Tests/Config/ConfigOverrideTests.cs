using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

public sealed class ConfigOverrideTests : ConfigTestBase
{
    [Fact]
    public void NestedScalarOverrides_Replace_AndCreate()
    {
        var c = Parse(Minimal, "method.lora.r=16", "model.path=../x", "train.micro_batch_size=8", "logging.progress=plain");
        Assert.Equal(16, c.Method.Lora.R);
        Assert.Equal(Path.GetFullPath(Path.Combine(Directory.GetCurrentDirectory(), "..", "x")), c.Model.Path); // relative to the shell
        Assert.Equal(8, c.Train.MicroBatchSize);
        Assert.Equal(ProgressMode.Plain, c.Logging.Progress);
    }

    [Fact]
    public void ListValue_InFlowSyntax()
    {
        var c = Parse(Minimal, "data.datasets=[a.jsonl, {path: b.jsonl, weight: 2}]", "method.lora.targets=[q_proj, v_proj]");
        Assert.Equal([Path.Combine(Directory.GetCurrentDirectory(), "a.jsonl"), Path.Combine(Directory.GetCurrentDirectory(), "b.jsonl")], c.Data.Datasets.Select(d => d.Path));
        Assert.Equal(2.0, c.Data.Datasets[1].Weight);
        Assert.Equal(LoraTargets.Of("q_proj", "v_proj"), c.Method.Lora.Targets);
    }

    [Fact]
    public void ListIndexSegment_SetsOneItem()
    {
        var c = Parse(Minimal, "data.datasets.0.weight=3");
        Assert.Equal(3.0, c.Data.Datasets[0].Weight);
    }

    [Fact]
    public void NullOverride_ClearsNullableKey()
    {
        var c = Parse(Minimal, "train.max_grad_norm=null", "train.max_steps=~", "train.epochs=1.5");
        Assert.Null(c.Train.MaxGradNorm);
        Assert.Null(c.Train.MaxSteps);
        Assert.Equal(1.5, c.Train.Epochs);
    }

    [Fact]
    public void Overrides_ApplyInOrder_LastWins()
    {
        Assert.Equal(7, Parse(Minimal, "train.seed=1", "train.seed=7").Train.Seed);
    }

    [Fact]
    public void WrongType_NamesTheOverride()
    {
        var ex = Fails(Minimal, "train.max_steps=ten");
        Assert.Equal("override 'train.max_steps=ten'", ex.Source);
        Assert.Null(ex.Line);
        Assert.Equal("train.max_steps", ex.Key);
        Assert.Equal("override 'train.max_steps=ten': 'train.max_steps' must be an integer, found 'ten'", ex.Message);
    }

    [Fact]
    public void UnknownKey_GetsDidYouMean()
    {
        var ex = Fails(Minimal, "train.micro_bach_size=8");
        Assert.Equal("override 'train.micro_bach_size=8': unknown key 'train.micro_bach_size' (did you mean 'micro_batch_size'?)", ex.Message);
        var section = Fails(Minimal, "trian.seed=1");
        Assert.Equal("override 'trian.seed=1': unknown key 'trian' (did you mean 'train'?)", section.Message);
    }

    [Fact]
    public void SemanticError_NamesTheOverride()
    {
        var ex = Fails(Minimal, "method.lora.r=0");
        Assert.Equal("override 'method.lora.r=0': 'method.lora.r' must be >= 1, found 0", ex.Message);
    }

    [Theory]
    [InlineData("train.max_steps", "expected key.sub=value (e.g. train.max_steps=100)")]
    [InlineData("=5", "expected key.sub=value (e.g. train.max_steps=100)")]
    [InlineData("train..seed=5", "expected key.sub=value (e.g. train.max_steps=100)")]
    [InlineData("model.path.x=1", "cannot set 'model.path.x': 'model.path' is 'org/model', not a mapping")]
    [InlineData("data.datasets.3.weight=1", "'data.datasets' is a list of 1 items; '3' is not an index into it")]
    [InlineData("model=x", "'model' must be a mapping, found 'x'")]
    public void InvalidOverrides_AreRejected(string over, string message)
    {
        var ex = Fails(Minimal, over);
        Assert.Equal($"override '{over}'", ex.Source);
        Assert.Contains(message, ex.Errors.Select(e => e.Message));
    }

    [Fact]
    public void InvalidYamlValue_IsRejected()
    {
        var ex = Fails(Minimal, "data.datasets=[a.jsonl");
        Assert.Equal("override 'data.datasets=[a.jsonl'", ex.Source);
        Assert.StartsWith("override 'data.datasets=[a.jsonl': the value is not valid YAML: ", ex.Message);
    }

    [Fact]
    public void FileAndOverrideErrors_AreReportedTogether_FileFirst()
    {
        var ex = Fails(Minimal.Replace("micro_batch_size: 2", "micro_batch_size: two"), "train.seed=x");
        Assert.Equal(2, ex.Errors.Count);
        Assert.Equal(Source, ex.Errors[0].Source);
        Assert.Equal("override 'train.seed=x'", ex.Errors[1].Source);
    }
}
