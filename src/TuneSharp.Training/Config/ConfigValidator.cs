using System.Globalization;
using System.Text.RegularExpressions;

namespace TuneSharp.Training.Config;

/// <summary>Semantic checks on a bound config: impossible values and contradicting keys, each reported at its key.</summary>
internal sealed class ConfigValidator(BindContext ctx)
{
    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    void Check(bool ok, string key, string message)
    {
        if (!ok) ctx.ErrorAt(key, message);
    }

    void AtLeast(int? value, int min, string key) =>
        Check(value is not int v || v >= min, key, $"'{key}' must be >= {min}, found {value}");

    void Positive(double? value, string key) =>
        Check(value is not double v || v > 0, key, $"'{key}' must be > 0, found {F(value ?? 0)}");

    void InRange(double value, double lo, bool hiInclusive, double hi, string key) =>
        Check(value >= lo && (hiInclusive ? value <= hi : value < hi), key,
              $"'{key}' must be in [{F(lo)}, {F(hi)}{(hiInclusive ? "]" : ")")}, found {F(value)}");

    void ValidRegex(string pattern, string key)
    {
        try { _ = new Regex(pattern); }
        catch (ArgumentException e) { ctx.ErrorAt(key, $"'{key}' is not a valid regular expression: {e.Message}"); }
    }

    public void Validate(TrainConfig c)
    {
        ValidateMethod(c.Method);
        Check(c.Model.Adapter is null || c.Method.IsAdapter, "model.adapter",
              "'model.adapter' continues training an adapter; it needs method.type lora, dora or qlora");
        ValidateData(c.Data);
        ValidateOptimizer(c.Optimizer);
        ValidateSchedule(c.Schedule, c.Train);
        ValidateTrain(c.Train);
        ValidateEval(c.Eval, c.Data);
        ValidateOutput(c.Output, c.Method);
        AtLeast(c.Logging.EverySteps, 1, "logging.every_steps");
    }

    void ValidateMethod(MethodSection m)
    {
        string type = ConfigNames.Of(m.Type);
        Check(!ctx.IsSet("method.freeze") || m.Type == MethodType.Freeze, "method.freeze",
              $"'method.freeze' is only used when method.type is freeze (it is {type})");
        Check(!ctx.IsSet("method.lora") || m.IsAdapter, "method.lora",
              $"'method.lora' is only used when method.type is lora, dora or qlora (it is {type})");
        Check(!ctx.IsSet("method.quant") || m.Type == MethodType.Qlora, "method.quant",
              $"'method.quant' is only used when method.type is qlora (it is {type})");

        if (m.Type == MethodType.Freeze)
        {
            Check(m.Freeze.TrainableLayers.Count + m.Freeze.TrainableModules.Count > 0, "method.freeze",
                  "method.type freeze needs 'method.freeze.trainable_layers' or 'method.freeze.trainable_modules' (nothing would train)");
            for (int i = 0; i < m.Freeze.TrainableModules.Count; i++)
                ValidRegex(m.Freeze.TrainableModules[i], $"method.freeze.trainable_modules[{i}]");
        }
        if (m.IsAdapter) ValidateLora(m.Lora);
        if (m.Type == MethodType.Qlora)
        {
            Check(m.Quant.Bits is 4 or 8, "method.quant.bits", $"'method.quant.bits' must be 4 (NF4) or 8 (int8), found {m.Quant.Bits}");
            Check(m.Quant.BlockSize > 0 && (m.Quant.BlockSize & (m.Quant.BlockSize - 1)) == 0, "method.quant.block_size",
                  $"'method.quant.block_size' must be a positive power of two, found {m.Quant.BlockSize}");
        }
    }

    void ValidateLora(LoraSection l)
    {
        AtLeast(l.R, 1, "method.lora.r");
        Positive(l.Alpha, "method.lora.alpha");
        InRange(l.Dropout, 0, false, 1, "method.lora.dropout");
        Check(!(l.TargetRegex != null && !l.Targets.IsEmpty), "method.lora.target_regex",
              "set either 'method.lora.targets' or 'method.lora.target_regex', not both");
        Check(l.TargetRegex != null || !l.Targets.IsEmpty, "method.lora.targets",
              "'method.lora.targets' is empty: list module name suffixes, use all-linear, or set 'method.lora.target_regex'");
        if (l.TargetRegex != null) ValidRegex(l.TargetRegex, "method.lora.target_regex");
        for (int i = 0; i < l.Targets.Suffixes.Count; i++)
            Check(l.Targets.Suffixes[i].Length > 0, $"method.lora.targets[{i}]", $"'method.lora.targets[{i}]' is empty");
        for (int i = 0; i < l.Exclude.Count; i++)
            ValidRegex(l.Exclude[i], $"method.lora.exclude[{i}]");
        Positive(l.LoraPlusRatio, "method.lora.lora_plus_ratio");
        foreach (var (pattern, rank) in l.RankPattern)
        {
            ValidRegex(pattern, $"method.lora.rank_pattern.{pattern}");
            AtLeast(rank, 1, $"method.lora.rank_pattern.{pattern}");
        }
        foreach (var (pattern, alpha) in l.AlphaPattern)
        {
            ValidRegex(pattern, $"method.lora.alpha_pattern.{pattern}");
            Positive(alpha, $"method.lora.alpha_pattern.{pattern}");
        }
    }

    void ValidateData(DataSection d)
    {
        Check(d.Datasets.Count > 0, "data.datasets", "at least one dataset is required in 'data.datasets'");
        for (int i = 0; i < d.Datasets.Count; i++)
        {
            var ds = d.Datasets[i];
            Check(ds.Path.Length > 0, $"data.datasets[{i}].path", $"'data.datasets[{i}].path' is empty");
            Positive(ds.Weight, $"data.datasets[{i}].weight");
            AtLeast(ds.MaxSamples, 1, $"data.datasets[{i}].max_samples");
        }
        InRange(d.ValSize, 0, false, 1, "data.val_size");
        Check(d.ValPath == null || d.ValSize == 0, "data.val_size", "set either 'data.val_path' or 'data.val_size', not both");
        AtLeast(d.MaxSeqLen, 2, "data.max_seq_len");
        AtLeast(d.MaxSamples, 1, "data.max_samples");
    }

    void ValidateOptimizer(OptimizerSection o)
    {
        Positive(o.Lr, "optimizer.lr");
        Check(o.WeightDecay >= 0, "optimizer.weight_decay", $"'optimizer.weight_decay' must be >= 0, found {F(o.WeightDecay)}");
        Check(o.Betas.Count == 2, "optimizer.betas", $"'optimizer.betas' must have 2 values [beta1, beta2], found {o.Betas.Count}");
        for (int i = 0; i < o.Betas.Count; i++) InRange(o.Betas[i], 0, false, 1, $"optimizer.betas[{i}]");
        Positive(o.Eps, "optimizer.eps");
        InRange(o.Momentum, 0, false, 1, "optimizer.momentum");
        // A key the chosen algorithm does not read must keep its default (it would be silently ignored otherwise).
        var d = new OptimizerSection();
        string name = ConfigNames.Of(o.Name);
        const string adams = "adamw, adam and adamw_8bit";
        Check(o.Name.UsesMomentum() || o.Momentum == d.Momentum, "optimizer.momentum",
              $"'optimizer.momentum' is only used by sgd (optimizer.name is {name})");
        Check(o.Name.UsesBetas() || o.Betas.SequenceEqual(d.Betas), "optimizer.betas",
              $"'optimizer.betas' is only used by {adams} (optimizer.name is {name})");
        Check(o.Name.UsesEps() || o.Eps == d.Eps, "optimizer.eps",
              $"'optimizer.eps' is only used by {adams} (optimizer.name is {name})");
    }

    void ValidateSchedule(ScheduleSection s, TrainSection t)
    {
        string type = ConfigNames.Of(s.Type);
        AtLeast(s.WarmupSteps, 0, "schedule.warmup_steps");
        InRange(s.WarmupRatio, 0, false, 1, "schedule.warmup_ratio");
        Check(s.WarmupSteps == null || s.WarmupRatio == 0, "schedule.warmup_ratio",
              "set either 'schedule.warmup_steps' or 'schedule.warmup_ratio', not both");
        if (s.WarmupSteps is int w && t.MaxSteps is int max)
            Check(w <= max, "schedule.warmup_steps", $"'schedule.warmup_steps' ({w}) is longer than training ('train.max_steps' = {max})");
        InRange(s.MinLrRatio, 0, true, 1, "schedule.min_lr_ratio");
        Check(s.MinLrRatio == 0 || s.Type is ScheduleType.CosineWithMinLr or ScheduleType.Wsd, "schedule.min_lr_ratio",
              $"'schedule.min_lr_ratio' is only used by cosine_with_min_lr and wsd (schedule.type is {type})");
        Check(s.DecayRatio > 0 && s.DecayRatio <= 1, "schedule.decay_ratio", $"'schedule.decay_ratio' must be in (0, 1], found {F(s.DecayRatio)}");
        Check(s.DecayRatio == new ScheduleSection().DecayRatio || s.Type == ScheduleType.Wsd, "schedule.decay_ratio",
              $"'schedule.decay_ratio' is only used by wsd (schedule.type is {type})");
        if (s.Type == ScheduleType.Wsd)
            Check(s.WarmupRatio + s.DecayRatio <= 1, "schedule.decay_ratio",
                  $"warmup_ratio + decay_ratio must be <= 1 for wsd, found {F(s.WarmupRatio + s.DecayRatio)}");
    }

    void ValidateTrain(TrainSection t)
    {
        // When both are set, max_steps wins (as in HF TrainingArguments), so `train.max_steps=20` on the command line
        // shortens a config that trains by epochs.
        if (t.Epochs == null && t.MaxSteps == null)
            ctx.ErrorAt("train", "set 'train.epochs' or 'train.max_steps' (neither is set)");
        Positive(t.Epochs, "train.epochs");
        AtLeast(t.MaxSteps, 1, "train.max_steps");
        AtLeast(t.MicroBatchSize, 1, "train.micro_batch_size");
        AtLeast(t.GradAccum, 1, "train.grad_accum");
        Positive(t.MaxGradNorm, "train.max_grad_norm");
        AtLeast(t.Seed, 0, "train.seed");
    }

    void ValidateEval(EvalSection e, DataSection d)
    {
        AtLeast(e.EverySteps, 1, "eval.every_steps");
        AtLeast(e.MaxBatches, 1, "eval.max_batches");
        AtLeast(e.EarlyStoppingPatience, 1, "eval.early_stopping_patience");
        bool hasValidation = d.ValPath != null || d.ValSize > 0;
        Check(e.EverySteps == null || hasValidation, "eval.every_steps",
              "'eval.every_steps' needs validation data: set 'data.val_path' or 'data.val_size'");
        Check(e.EarlyStoppingPatience == null || e.EverySteps != null, "eval.early_stopping_patience",
              "'eval.early_stopping_patience' needs periodic evaluation: set 'eval.every_steps'");
        for (int i = 0; i < e.Samples.Count; i++)
            Check(e.Samples[i].Length > 0, $"eval.samples[{i}]", $"'eval.samples[{i}]' is empty");
    }

    void ValidateOutput(OutputSection o, MethodSection m)
    {
        Check(o.Dir.Length > 0, "output.dir", "'output.dir' is empty");
        AtLeast(o.SaveEverySteps, 1, "output.save_every_steps");
        AtLeast(o.KeepLast, 1, "output.keep_last");
        Check(!o.SaveMerged || m.IsAdapter, "output.save_merged",
              $"'output.save_merged' only applies to lora, dora and qlora (method.type is {ConfigNames.Of(m.Type)})");
    }
}
