using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

public sealed class ConfigValidationTests : ConfigTestBase
{
    [Theory]
    [InlineData("method.lora.r=0", "method.lora.r", "'method.lora.r' must be >= 1, found 0")]
    [InlineData("method.lora.alpha=0", "method.lora.alpha", "'method.lora.alpha' must be > 0, found 0")]
    [InlineData("method.lora.dropout=1.0", "method.lora.dropout", "'method.lora.dropout' must be in [0, 1), found 1")]
    [InlineData("optimizer.lr=-1e-4", "optimizer.lr", "'optimizer.lr' must be > 0, found -0.0001")]
    [InlineData("optimizer.betas=[0.9]", "optimizer.betas", "'optimizer.betas' must have 2 values [beta1, beta2], found 1")]
    [InlineData("optimizer.momentum=0.9", "optimizer.momentum", "'optimizer.momentum' is only used by sgd (optimizer.name is adamw)")]
    [InlineData("train.micro_batch_size=0", "train.micro_batch_size", "'train.micro_batch_size' must be >= 1, found 0")]
    [InlineData("train.grad_accum=0", "train.grad_accum", "'train.grad_accum' must be >= 1, found 0")]
    [InlineData("train.max_steps=null", "train", "set 'train.epochs' or 'train.max_steps' (neither is set)")]
    [InlineData("train.max_grad_norm=0", "train.max_grad_norm", "'train.max_grad_norm' must be > 0, found 0")]
    [InlineData("schedule.warmup_steps=11", "schedule.warmup_steps", "'schedule.warmup_steps' (11) is longer than training ('train.max_steps' = 10)")]
    [InlineData("schedule.warmup_ratio=1", "schedule.warmup_ratio", "'schedule.warmup_ratio' must be in [0, 1), found 1")]
    [InlineData("schedule={warmup_steps: 2, warmup_ratio: 0.1}", "schedule.warmup_ratio", "set either 'schedule.warmup_steps' or 'schedule.warmup_ratio', not both")]
    [InlineData("schedule.min_lr_ratio=0.1", "schedule.min_lr_ratio", "'schedule.min_lr_ratio' is only used by cosine_with_min_lr and wsd (schedule.type is cosine)")]
    [InlineData("schedule.decay_ratio=0.3", "schedule.decay_ratio", "'schedule.decay_ratio' is only used by wsd (schedule.type is cosine)")]
    [InlineData("schedule={type: wsd, warmup_ratio: 0.5, decay_ratio: 0.6}", "schedule.decay_ratio", "warmup_ratio + decay_ratio must be <= 1 for wsd, found 1.1")]
    [InlineData("data.val_size=1.0", "data.val_size", "'data.val_size' must be in [0, 1), found 1")]
    [InlineData("data.val_size=-0.1", "data.val_size", "'data.val_size' must be in [0, 1), found -0.1")]
    [InlineData("data={datasets: [d.jsonl], val_path: v.jsonl, val_size: 0.1}", "data.val_size", "set either 'data.val_path' or 'data.val_size', not both")]
    [InlineData("data.datasets=[]", "data.datasets", "at least one dataset is required in 'data.datasets'")]
    [InlineData("data.datasets.0.weight=0", "data.datasets[0].weight", "'data.datasets[0].weight' must be > 0, found 0")]
    [InlineData("data.max_seq_len=1", "data.max_seq_len", "'data.max_seq_len' must be >= 2, found 1")]
    [InlineData("method.lora={target_regex: q_proj, targets: [q_proj]}", "method.lora.target_regex", "set either 'method.lora.targets' or 'method.lora.target_regex', not both")]
    [InlineData("method.lora.targets=[]", "method.lora.targets", "'method.lora.targets' is empty: list module name suffixes, use all-linear, or set 'method.lora.target_regex'")]
    [InlineData("method.lora.lora_plus_ratio=-2", "method.lora.lora_plus_ratio", "'method.lora.lora_plus_ratio' must be > 0, found -2")]
    [InlineData("method.lora.rank_pattern={q_proj: 0}", "method.lora.rank_pattern.q_proj", "'method.lora.rank_pattern.q_proj' must be >= 1, found 0")]
    [InlineData("method={type: full, lora: {r: 4}}", "method.lora", "'method.lora' is only used when method.type is lora, dora or qlora (it is full)")]
    [InlineData("method.quant.bits=4", "method.quant", "'method.quant' is only used when method.type is qlora (it is lora)")]
    [InlineData("method.freeze.trainable_layers=[-1]", "method.freeze", "'method.freeze' is only used when method.type is freeze (it is lora)")]
    [InlineData("output.save_merged=true", null, null)]
    [InlineData("output.keep_last=0", "output.keep_last", "'output.keep_last' must be >= 1, found 0")]
    [InlineData("eval.every_steps=5", "eval.every_steps", "'eval.every_steps' needs validation data: set 'data.val_path' or 'data.val_size'")]
    [InlineData("eval.samples=[\"\"]", "eval.samples[0]", "'eval.samples[0]' is empty")]
    [InlineData("logging.every_steps=0", "logging.every_steps", "'logging.every_steps' must be >= 1, found 0")]
    public void ImpossibleValues_NameTheKey(string over, string? key, string? message)
    {
        if (key == null)
        {
            Parse(Minimal, over); // a valid combination (control case for the table)
            return;
        }
        var ex = Fails(Minimal, over);
        Assert.Contains(ex.Errors, e => e.Key == key && e.Message == message);
    }

    [Theory]
    [InlineData("method.lora.target_regex=\"[a\"", "method.lora.target_regex")]
    [InlineData("method.lora.exclude=\"(\"", "method.lora.exclude")]
    public void InvalidRegex_IsReported(string over, string key)
    {
        var ex = Fails(Minimal, "method.lora.targets=[]", over);
        Assert.Contains(ex.Errors, e => e.Key == key && e.Message.Contains("is not a valid regular expression"));
    }

    [Fact]
    public void SemanticError_InFile_HasValuePosition()
    {
        string yaml = Minimal.Replace("type: lora", "type: lora\n  lora:\n    r: 0");
        var ex = Fails(yaml);
        Assert.Equal($"{Source}:6:8: 'method.lora.r' must be >= 1, found 0", ex.Message);
    }

    [Fact]
    public void FreezeWithoutTrainableParts_IsRejected_QuantBitsChecked()
    {
        var ex = Fails(Minimal.Replace("type: lora", "type: freeze"));
        Assert.Equal("method.freeze", ex.Key);
        Assert.Contains("nothing would train", ex.Message);
        var q = Fails(Minimal, "method.type=qlora", "method.quant.bits=3", "method.quant.block_size=48");
        Assert.Equal(["method.quant.bits", "method.quant.block_size"], q.Errors.Select(e => e.Key));
    }

    [Fact]
    public void SaveMerged_OnlyForAdapters()
    {
        var ex = Fails(Minimal.Replace("type: lora", "type: full"), "output.save_merged=true");
        Assert.Equal("'output.save_merged' only applies to lora, dora and qlora (method.type is full)", ex.Errors.Single().Message);
    }
}
