using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

public sealed class ConfigBindingTests : ConfigTestBase
{
    [Fact]
    public void Minimal_FillsDefaults_AndResolvesPaths()
    {
        var c = Parse(Minimal);
        Assert.Equal("org/model", c.Model.Path);
        Assert.Equal(DTypeChoice.Auto, c.Model.DType);
        Assert.Equal(DeviceSpec.Auto, c.Model.Device);
        Assert.Equal(MethodType.Lora, c.Method.Type);
        Assert.Equal(Stage.Sft, c.Method.Stage);
        Assert.Equal(8, c.Method.Lora.R);
        Assert.Equal(16.0, c.Method.Lora.Alpha);
        Assert.Equal(LoraTargets.Of("q_proj", "k_proj", "v_proj", "o_proj"), c.Method.Lora.Targets);
        Assert.Equal(4, c.Method.Quant.Bits);
        Assert.Equal(Path.Combine(BaseDir, "d.jsonl"), Assert.Single(c.Data.Datasets).Path);
        Assert.Equal(1.0, c.Data.Datasets[0].Weight);
        Assert.Equal(TemplateSpec.Auto, c.Data.Template);
        Assert.Equal(1024, c.Data.MaxSeqLen);
        Assert.Equal(TrainOn.Assistant, c.Method.Sft.TrainOn);
        Assert.True(c.Data.Dedup);
        Assert.Equal(OptimizerName.AdamW, c.Optimizer.Name);
        Assert.Equal(2.0e-4, c.Optimizer.Lr);
        Assert.Equal([0.9, 0.999], c.Optimizer.Betas);
        Assert.Equal(["bias", "norm", "embed"], c.Optimizer.NoDecay);
        Assert.Equal(ScheduleType.Cosine, c.Schedule.Type);
        Assert.Null(c.Schedule.WarmupSteps);
        Assert.Equal(0.1, c.Schedule.DecayRatio);
        Assert.Null(c.Train.Epochs);
        Assert.Equal(10, c.Train.MaxSteps);
        Assert.Equal(2, c.Train.MicroBatchSize);
        Assert.Equal(1, c.Train.GradAccum);
        Assert.Equal(1.0, c.Train.MaxGradNorm);
        Assert.Equal(42, c.Train.Seed);
        Assert.True(c.Eval.AtEnd);
        Assert.Null(c.Eval.EverySteps);
        Assert.Equal(Path.Combine(BaseDir, "runs", "model-lora"), c.Output.Dir);
        Assert.Equal(2, c.Output.KeepLast);
        Assert.Equal(ResumeMode.Auto, c.Output.Resume);
        Assert.Equal(1, c.Logging.EverySteps);
        Assert.Equal(ProgressMode.Auto, c.Logging.Progress);
    }

    [Fact]
    public void Enums_AreCaseInsensitive_AndSnakeCase()
    {
        var c = Parse(Minimal, "method.type=QLoRA", "schedule.type=Cosine_With_Min_LR", "method.sft.train_on=last_assistant",
            "model.dtype=BF16", "model.device=CUDA:1", "optimizer.name=AdamW");
        Assert.Equal(MethodType.Qlora, c.Method.Type);
        Assert.Equal(ScheduleType.CosineWithMinLr, c.Schedule.Type);
        Assert.Equal(TrainOn.LastAssistant, c.Method.Sft.TrainOn);
        Assert.Equal(DTypeChoice.Bf16, c.Model.DType);
        Assert.Equal(new DeviceSpec(DeviceKind.Cuda, 1), c.Model.Device);
        Assert.Equal(OptimizerName.AdamW, c.Optimizer.Name);
    }

    [Fact]
    public void UnknownKey_ReportsPathPosition_AndSuggestion()
    {
        string yaml = Minimal + "\n  micro_bach_size: 8";
        var ex = Fails(yaml);
        var (line, col) = PositionOf(yaml, "micro_bach_size");
        Assert.Equal((11, 3), (line, col));
        Assert.Equal(Source, ex.Source);
        Assert.Equal(line, ex.Line);
        Assert.Equal(col, ex.Column);
        Assert.Equal("train.micro_bach_size", ex.Key);
        Assert.Equal($"{Source}:11:3: unknown key 'train.micro_bach_size' (did you mean 'micro_batch_size'?)", ex.Message);
    }

    [Fact]
    public void UnknownSection_SuggestsSection()
    {
        var ex = Fails(Minimal + "\ntrian:\n  seed: 1");
        Assert.Equal("trian", ex.Key);
        Assert.Equal(11, ex.Line);
        Assert.Equal(1, ex.Column);
        Assert.EndsWith("unknown key 'trian' (did you mean 'train'?)", ex.Message);
    }

    [Fact]
    public void KeyInWrongSection_SuggestsWhereItBelongs()
    {
        var ex = Fails(Minimal + "\n  lr: 1.0e-4");
        Assert.EndsWith("unknown key 'train.lr' (did you mean 'optimizer.lr'?)", ex.Message);
    }

    [Fact]
    public void UnknownKey_WithoutCloseMatch_ListsValidKeys()
    {
        var ex = Fails(Minimal.Replace("  path: org/model", "  path: org/model\n  zzzzzz: 1"));
        Assert.Equal($"{Source}:3:3: unknown key 'model.zzzzzz' (valid keys: path, dtype, device, adapter)", ex.Message);
    }

    [Fact]
    public void UnknownKeyInDatasetEntry_NamesTheIndex()
    {
        var ex = Fails(Minimal.Replace("    - path: d.jsonl", "    - path: d.jsonl\n      wieght: 2"));
        Assert.Equal("data.datasets[0].wieght", ex.Key);
        Assert.Equal((8, 7), (ex.Line, ex.Column));
        Assert.EndsWith("(did you mean 'weight'?)", ex.Message);
    }

    [Fact]
    public void UnknownColumnName_SuggestsLogicalName()
    {
        var ex = Fails(Minimal.Replace("    - path: d.jsonl", "    - path: d.jsonl\n      columns: {promt: question}"));
        Assert.Equal("data.datasets[0].columns.promt", ex.Key);
        Assert.EndsWith("(did you mean 'prompt'?)", ex.Message);
    }

    [Fact]
    public void WrongType_Integer()
    {
        var ex = Fails(Minimal.Replace("max_steps: 10", "max_steps: ten"));
        Assert.Equal($"{Source}:9:14: 'train.max_steps' must be an integer, found 'ten'", ex.Message);
        Assert.Equal("train.max_steps", ex.Key);
    }

    [Theory]
    [InlineData("micro_batch_size: 2", "micro_batch_size: \"2\"", "'train.micro_batch_size' must be an integer, found the quoted string '2'")]
    [InlineData("micro_batch_size: 2", "micro_batch_size: 2.5", "'train.micro_batch_size' must be an integer, found '2.5'")]
    [InlineData("micro_batch_size: 2", "micro_batch_size: [2]", "'train.micro_batch_size' must be an integer, found a list")]
    [InlineData("micro_batch_size: 2", "grad_checkpointing: yes", "'train.grad_checkpointing' must be true or false, found 'yes'")]
    [InlineData("micro_batch_size: 2", "max_grad_norm: nan", "'train.max_grad_norm' must be a number, found 'nan'")]
    [InlineData("micro_batch_size: 2", "micro_batch_size: null", "'train.micro_batch_size' must be an integer, found null")]
    [InlineData("type: lora", "type: lorra", "'method.type' must be one of full, freeze, lora, dora, qlora; found 'lorra' (did you mean 'lora'?)")]
    [InlineData("type: lora", "type: lora\n  stage: [sft]", "'method.stage' must be one of sft, pretrain, dpo, orpo, simpo, kto, reward; found a list")]
    [InlineData("    - path: d.jsonl", "    - path: d.jsonl\n  template: chatlm", "'data.template' must be one of auto, chatml, llama3, mistral, alpaca, plain or a path to a .jinja file; found 'chatlm' (did you mean 'chatml'?)")]
    [InlineData("  path: org/model", "  path: org/model\n  device: gpu", "'model.device' must be auto, cpu, cuda or cuda:N; found 'gpu'")]
    [InlineData("train:", "train: 5\nx:", "'train' must be a mapping, found '5'")]
    public void WrongType_Messages(string find, string replace, string message)
    {
        var ex = Fails(Minimal.Replace(find, replace));
        Assert.Contains(message, ex.Errors.Select(e => e.Message));
    }

    [Fact]
    public void ListItemOfWrongType_NamesTheIndex_AndPosition()
    {
        var ex = Fails(Minimal + "\noptimizer:\n  betas: [0.9, high]");
        Assert.Equal("optimizer.betas[1]", ex.Key);
        Assert.Equal($"{Source}:12:16: 'optimizer.betas[1]' must be a number, found 'high'", ex.Message);
    }

    [Fact]
    public void SeveralErrors_AreAllReported_InDocumentOrder()
    {
        string yaml = Minimal.Replace("type: lora", "type: lora\n  stagee: sft").Replace("max_steps: 10", "max_steps: ten");
        var ex = Fails(yaml);
        Assert.Equal(2, ex.Errors.Count);
        Assert.Equal("method.stagee", ex.Errors[0].Key);
        Assert.Equal(5, ex.Errors[0].Line);
        Assert.Equal("train.max_steps", ex.Errors[1].Key);
        Assert.Equal(10, ex.Errors[1].Line);
        Assert.Equal(2, ex.Message.Split('\n').Length);
    }

    [Fact]
    public void MissingRequiredKey_PointsAtTheSection()
    {
        var ex = Fails(Minimal.Replace("  path: org/model\n", "  dtype: fp32\n"));
        Assert.Equal("model.path", ex.Key);
        Assert.Equal($"{Source}:2:3: missing required key 'model.path'", ex.Message);
    }

    [Fact]
    public void MissingSection_HasNoPosition()
    {
        var ex = Fails(Minimal.Replace("method:\n  type: lora\n", ""));
        Assert.Equal("method.type", ex.Key);
        Assert.Null(ex.Line);
        Assert.Equal($"{Source}: missing required key 'method.type'", ex.Message);
    }

    [Fact]
    public void YamlSyntaxError_HasPosition()
    {
        var ex = Fails("model:\n  path: [org/model\nmethod:\n  type: lora\n");
        Assert.NotNull(ex.Line);
        Assert.StartsWith($"{Source}:{ex.Line}:{ex.Column}: ", ex.Message);
        Assert.DoesNotContain("(Line:", ex.Message);
    }

    [Fact]
    public void DuplicateKey_IsAnError_WithPosition()
    {
        var ex = Fails(Minimal + "\n  max_steps: 20");
        Assert.Equal(11, ex.Line);
    }

    [Fact]
    public void EmptyDocument_ReportsRequiredKeys()
    {
        var ex = Fails("");
        Assert.Contains(ex.Errors, e => e.Key == "model.path");
        Assert.Contains(ex.Errors, e => e.Key == "method.type");
    }

    [Fact]
    public void NonMappingDocument_IsRejected()
    {
        var ex = Fails("- a\n- b\n");
        Assert.Equal((1, 1), (ex.Line, ex.Column));
        Assert.Contains("must be a mapping of sections", ex.Message);
    }

    [Fact]
    public void ModelPath_ExistingFolderRelativeToConfig_BecomesAbsolute_HubIdStays()
    {
        string dir = Path.Combine(Path.GetTempPath(), "tunesharp-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "org", "model"));
        try
        {
            string source = Path.Combine(dir, "cfg.yaml");
            var local = ConfigLoader.Parse(Minimal, source);
            Assert.Equal(Path.Combine(dir, "org", "model"), local.Model.Path);
            var hub = ConfigLoader.Parse(Minimal.Replace("org/model", "HuggingFaceTB/SmolLM2-135M-Instruct@main"), source);
            Assert.Equal("HuggingFaceTB/SmolLM2-135M-Instruct@main", hub.Model.Path);
            Assert.Equal(Path.Combine(dir, "runs", "SmolLM2-135M-Instruct-lora"), hub.Output.Dir);
            var dotted = ConfigLoader.Parse(Minimal.Replace("org/model", "./weights"), source);
            Assert.Equal(Path.Combine(dir, "weights"), dotted.Model.Path);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Placeholders_AreSubstituted()
    {
        var c = Parse(Minimal + "\noutput:\n  dir: out/{model}_{method}_{date}");
        Assert.Equal(Path.Combine(BaseDir, "out", "model_lora_20250102-030405"), c.Output.Dir);
    }

    [Fact]
    public void UnknownPlaceholder_SuggestsName()
    {
        var ex = Fails(Minimal + "\noutput:\n  dir: out/{modle}");
        Assert.Equal($"{Source}:12:8: 'output.dir' has an unknown placeholder '{{modle}}' (did you mean '{{model}}'?); valid: {{model}}, {{method}}, {{date}}", ex.Message);
    }

    [Fact]
    public void Template_NameOrFile()
    {
        // An override is typed in the shell: its relative paths follow the current directory, not the YAML file.
        Assert.Equal(new TemplateSpec(TemplateKind.Llama3), Parse(Minimal, "data.template=llama3").Data.Template);
        Assert.Equal(new TemplateSpec(TemplateKind.File, Path.Combine(Directory.GetCurrentDirectory(), "t", "my.jinja")),
            Parse(Minimal, "data.template=t/my.jinja").Data.Template);
    }

    [Fact]
    public void DatasetShorthand_AndColumns()
    {
        var c = Parse(Minimal.Replace("    - path: d.jsonl",
            "    - a.jsonl\n    - {path: /abs/b.json, format: alpaca, columns: {instruction: q, output: a}, weight: 0.5, max_samples: 10, split: train}"));
        Assert.Equal(Path.Combine(BaseDir, "a.jsonl"), c.Data.Datasets[0].Path);
        var b = c.Data.Datasets[1];
        Assert.Equal(Path.GetFullPath("/abs/b.json"), b.Path);
        Assert.Equal(DatasetFormat.Alpaca, b.Format);
        Assert.Equal(new ValueMap<string>([new("instruction", "q"), new("output", "a")]), b.Columns);
        Assert.Equal(0.5, b.Weight);
        Assert.Equal(10, b.MaxSamples);
        Assert.Equal("train", b.Split);
    }

    [Fact]
    public void LoraTargets_AllLinear_Regex_AndPatterns()
    {
        var all = Parse(Minimal, "method.lora.targets=all-linear");
        Assert.True(all.Method.Lora.Targets.AllLinear);
        var regex = Parse(Minimal, @"method.lora.target_regex=.*\.(q|v)_proj");
        Assert.True(regex.Method.Lora.Targets.IsEmpty);
        Assert.Equal(@".*\.(q|v)_proj", regex.Method.Lora.TargetRegex);
        var pat = Parse(Minimal, "method.lora.rank_pattern={q_proj: 4, mlp.*: 32}", "method.lora.alpha_pattern={q_proj: 8}");
        Assert.Equal(new ValueMap<int>([new("q_proj", 4), new("mlp.*", 32)]), pat.Method.Lora.RankPattern);
        Assert.Equal(8.0, pat.Method.Lora.AlphaPattern[0].Value);
    }
}
