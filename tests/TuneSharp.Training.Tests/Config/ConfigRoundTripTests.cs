using TuneSharp.Testing;
using TuneSharp.Training.Config;
using Xunit;

namespace TuneSharp.Training.Tests.Config;

public sealed class ConfigRoundTripTests : ConfigTestBase
{
    const string Rich = """
        model:
          path: org/model@v1.0
          dtype: bf16
          device: cuda:1
          adapter: runs/prev/adapter
        method:
          type: qlora
          stage: sft
          lora:
            r: 12
            alpha: 24.5
            dropout: 0.05
            targets: all-linear
            exclude: [lm_head, vision_tower]
            rslora: true
            lora_plus_ratio: 16
            modules_to_save: [embed_tokens]
            rank_pattern: {"layers\\.0\\..*": 4, q_proj: 32}
            alpha_pattern: {q_proj: 64}
            init: gaussian
          quant: {bits: 8, block_size: 128, double_quant: false}
          sft: {train_on: last_assistant, truncation: drop}
        data:
          datasets:
            - path: a.jsonl
              format: sharegpt
              columns: {messages: conversations, role: from, content: value}
              weight: 0.25
              max_samples: 100
              split: train
            - b dir/c.txt
          val_path: "val: set.jsonl"
          template: tpl/x.jinja
          max_seq_len: 333
          packing: true
          shuffle: false
          dedup: false
          max_samples: 5000
        optimizer:
          name: adam
          lr: 3.0e-5
          weight_decay: 0.1
          betas: [0.8, 0.95]
          eps: 1.0e-6
          no_decay: [bias]
        schedule:
          type: wsd
          warmup_steps: 7
          min_lr_ratio: 0.1
          decay_ratio: 0.25
        train:
          max_steps: 100
          micro_batch_size: 3
          grad_accum: 5
          max_grad_norm: null
          seed: 0
          grad_checkpointing: true
        eval:
          every_steps: 10
          at_end: false
          max_batches: 4
          early_stopping_patience: 2
          samples: ["What is 2+2?", "true", "1.5", "- dash", "quote \" and \\ backslash\nnewline", "key: value"]
        output:
          dir: out/{model}
          save_every_steps: 50
          keep_last: null
          resume: never
          save_merged: true
        logging:
          every_steps: 5
          jsonl: false
          tensorboard: false
          plot: false
          progress: none
        """;

    [Fact]
    public void RichConfig_RoundTrips_ThroughYaml()
    {
        var first = Parse(Rich);
        // Sanity: the values are the non-defaults written above.
        Assert.Equal(8, first.Method.Quant.Bits);
        Assert.Equal(Path.Combine(BaseDir, "val: set.jsonl"), first.Data.ValPath);
        Assert.Equal("quote \" and \\ backslash\nnewline", first.Eval.Samples[4]);
        Assert.Null(first.Output.KeepLast);
        Assert.Equal(Path.Combine(BaseDir, "out", "model"), first.Output.Dir);

        string yaml = ConfigLoader.ToYaml(first);
        // Reload from a different folder: every path is already absolute, so nothing moves.
        var second = ConfigLoader.Parse(yaml, Path.Combine(Path.GetTempPath(), "elsewhere", "resolved_config.yaml"));
        Assert.Equal(first, second);
        Assert.Equal(yaml, ConfigLoader.ToYaml(second));
    }

    [Fact]
    public void Minimal_RoundTrips_AndWritesEveryKey()
    {
        var first = Parse(Minimal, "method.lora.target_regex=.*q_proj", "method.lora.targets=null");
        string yaml = ConfigLoader.ToYaml(first);
        Assert.Contains("micro_batch_size: 2", yaml);
        Assert.Contains("warmup_steps: null", yaml);
        Assert.Contains("eps: 1.0e-08", yaml);
        Assert.Contains("lr: 0.0002", yaml);
        Assert.Contains("alpha: 16.0", yaml);
        Assert.Contains("targets: []", yaml);
        Assert.DoesNotContain("quant:", yaml); // only the sub-section of the chosen method is written
        Assert.Equal(first, Parse(yaml));
    }

    [Fact]
    public void Records_CompareByValue()
    {
        Assert.Equal(Parse(Minimal), Parse(Minimal));
        Assert.NotEqual(Parse(Minimal), Parse(Minimal, "optimizer.no_decay=[bias]"));
        Assert.NotEqual(Parse(Minimal), Parse(Minimal, "method.lora.rank_pattern={a: 2}"));
    }

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "examples"), "*.yaml").Order())
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_LoadsValidates_AndRoundTrips(string name)
    {
        string path = Path.Combine(Fixtures.RepoRoot, "examples", name);
        var config = ConfigLoader.Load(path);
        Assert.NotEmpty(config.Data.Datasets);
        Assert.All(config.Data.Datasets, d => Assert.StartsWith(Path.Combine(Fixtures.RepoRoot, "examples", "data"), d.Path));
        Assert.StartsWith(Path.Combine(Fixtures.RepoRoot, "runs"), config.Output.Dir);
        Assert.Equal(config, ConfigLoader.Parse(ConfigLoader.ToYaml(config), "resolved_config.yaml"));
    }

    [Fact]
    public void AllRequiredExamples_Exist()
    {
        string[] required = ["quickstart", "full", "freeze", "lora", "dora", "qlora", "pretrain"];
        foreach (string name in required)
            Assert.True(File.Exists(Path.Combine(Fixtures.RepoRoot, "examples", name + ".yaml")), name + ".yaml");
        var quick = ConfigLoader.Load(Path.Combine(Fixtures.RepoRoot, "examples", "quickstart.yaml"));
        Assert.Equal("HuggingFaceTB/SmolLM2-135M-Instruct", quick.Model.Path);
        Assert.Equal(MethodType.Lora, quick.Method.Type);
        Assert.Equal(Path.Combine(Fixtures.RepoRoot, "examples", "data", "quickstart.jsonl"), quick.Data.Datasets[0].Path);
        var pre = ConfigLoader.Load(Path.Combine(Fixtures.RepoRoot, "examples", "pretrain.yaml"));
        Assert.Equal(Stage.Pretrain, pre.Method.Stage);
        Assert.EndsWith(".txt", pre.Data.Datasets[0].Path);
    }

    [Fact]
    public void Load_MissingFile_IsAConfigError()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/cfg.yaml"));
        Assert.Equal("/nonexistent/cfg.yaml: config file not found", ex.Message);
    }
}

public sealed class ConfigNamesTests
{
    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("micro_bach_size", "micro_batch_size", 1)]
    [InlineData("ab", "ba", 1)] // one transposition, not two substitutions
    [InlineData("", "abc", 3)]
    [InlineData("same", "same", 0)]
    public void Distance_IsOptimalStringAlignment(string a, string b, int expected) =>
        Assert.Equal(expected, ConfigNames.Distance(a, b));

    [Fact]
    public void Suggest_OnlyPlausibleTypos()
    {
        Assert.Equal("train", ConfigNames.Suggest("trian", ["model", "train", "data"]));
        Assert.Equal("lora", ConfigNames.Suggest("LORA", ["full", "lora"]));
        Assert.Null(ConfigNames.Suggest("banana", ["model", "train", "data"]));
    }

    [Fact]
    public void EnumNames_SnakeCase_WithExplicitOverride()
    {
        Assert.Equal("cosine_with_min_lr", ConfigNames.Of(ScheduleType.CosineWithMinLr));
        Assert.Equal("bf16", ConfigNames.Of(DTypeChoice.Bf16));
        Assert.Equal("adamw", ConfigNames.Of(OptimizerName.AdamW));
        Assert.Equal(["assistant", "all", "last_assistant"], ConfigNames.All<TrainOn>());
    }
}
