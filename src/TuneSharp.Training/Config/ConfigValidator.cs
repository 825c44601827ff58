using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TuneSharp.Training.Config;

/// <summary>
/// Semantic checks on a bound config, each reported at its key: the per-key checks declared on the records
/// (<see cref="CheckAttribute"/>, applied by walking <see cref="ConfigSchema"/>), then the rules between keys below.
/// </summary>
internal sealed partial class ConfigValidator(BindContext ctx)
{
    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    void Check(bool ok, string key, string message)
    {
        if (!ok) ctx.ErrorAt(key, message);
    }

    void ValidRegex(string pattern, string key) => Report(new RegexAttribute().Check(pattern, key), key);

    public void Validate(TrainConfig c)
    {
        CheckKeys(c, "");
        ValidateStageSections(c.Method);
        ValidateMethod(c.Method);
        Check(c.Model.Adapter is null || c.Method.IsAdapter, "model.adapter",
              "'model.adapter' continues training an adapter; it needs method.type lora, dora or qlora");
        ValidateData(c.Data);
        // Raw text is never rendered through a chat template: a template given for pretraining would be ignored.
        Check(c.Method.Stage != Stage.Pretrain || c.Data.Template == TemplateSpec.Auto, "data.template",
              "'data.template' is not used by method.stage pretrain (raw text is not rendered with a chat template); remove it");
        // Pairs are collated as chosen + rejected rows of one batch, never packed.
        Check(c.Method.Stage is not (Stage.Dpo or Stage.Orpo or Stage.Simpo or Stage.Reward) || !c.Data.Packing, "data.packing",
              $"'data.packing' is not supported by method.stage {ConfigNames.Of(c.Method.Stage)} (chosen and rejected rows are padded into one batch); remove it");
        ValidateKto(c);
        // A reward adapter carries its score head in modules_to_save; continuing one is not implemented.
        Check(c.Method.Stage != Stage.Reward || c.Model.Adapter is null, "model.adapter",
              "'model.adapter' (continuing an adapter) is not supported by method.stage reward; train a new reward adapter");
        // A reward model scores text; it does not generate, and its adapter is kept apart from the base (score head).
        Check(c.Method.Stage != Stage.Reward || c.Eval.Samples.Count == 0, "eval.samples",
              "'eval.samples' is not used by method.stage reward (a reward model scores text, it does not generate); remove it");
        Check(c.Method.Stage != Stage.Reward || !c.Output.SaveMerged, "output.save_merged",
              "'output.save_merged' is not supported by method.stage reward: the adapter (with the score head) is the output");
        ValidateOptimizer(c.Optimizer);
        ValidateSchedule(c.Schedule, c.Train);
        ValidateTrain(c.Train);
        ValidateEval(c.Eval, c.Data);
        ValidateOutput(c.Output, c.Method);
    }

    /// <summary>The declared checks of every key of the sections this config uses (list items as key[i], map entries as key.name).</summary>
    void CheckKeys(object record, string prefix)
    {
        foreach (var key in ConfigSchema.Of(record.GetType()))
        {
            string path = prefix.Length == 0 ? key.Name : prefix + "." + key.Name;
            object? value = key.Property.GetValue(record);
            if (key.IsSection)
            {
                if (ConfigSchema.IsUsed(record, key)) CheckKeys(value!, path);
                continue;
            }
            if (key.Type!.ItemRecord != null)
            {
                int i = 0;
                foreach (object item in (IEnumerable)value!) CheckKeys(item, $"{path}[{i++}]");
            }
            foreach (var check in key.Checks) Apply(check, value, path);
        }
    }

    void Apply(CheckAttribute check, object? value, string key)
    {
        switch (value)
        {
            case null:
                return;
            case string s:
                Report(check.Check(s, key), key);
                return;
            case IValueMap map:
                foreach (var (name, v) in map.Entries) Report(check.Check(check.OnMapNames ? name : v!, $"{key}.{name}"), $"{key}.{name}");
                return;
            case IEnumerable items:
                int i = 0;
                foreach (object item in items) Report(check.Check(item, $"{key}[{i}]"), $"{key}[{i++}]");
                return;
            default:
                Report(check.Check(value, key), key);
                return;
        }
    }

    void Report(string? error, string key)
    {
        if (error != null) ctx.ErrorAt(key, error);
    }

    /// <summary>A key in the section of another stage is an error naming the stage it belongs to (it would be ignored).</summary>
    void ValidateStageSections(MethodSection m)
    {
        foreach (var key in ConfigSchema.Of(typeof(MethodSection)))
        {
            if (key.Stage is not { } owner || owner.Stage == m.Stage) continue;
            string section = "method." + key.Name;
            string belongs = $"belongs to method.stage {ConfigNames.Of(owner.Stage)}, this config has stage {ConfigNames.Of(m.Stage)}";
            var given = ConfigSchema.Of(key.Property.PropertyType).Select(k => $"{section}.{k.Name}").Where(ctx.ValueNodes.ContainsKey).ToList();
            foreach (string path in given) ctx.ErrorAt(path, $"'{path}' {belongs}");
            if (given.Count == 0 && ctx.IsSet(section)) ctx.ErrorAt(section, $"'{section}' {belongs}");
        }
    }

    /// <summary>KTO: completions and their mismatched KL rows are padded into one batch, the reference is the model with
    /// its adapters disabled, and the KL estimate needs at least two examples per optimizer step.</summary>
    void ValidateKto(TrainConfig c)
    {
        if (c.Method.Stage != Stage.Kto) return;
        Check(!c.Data.Packing, "data.packing",
              "'data.packing' is not supported by method.stage kto (completions and their KL rows are padded into one batch); remove it");
        Check(c.Train.MicroBatchSize * c.Train.GradAccum >= 2, "train.micro_batch_size",
              "method.stage kto needs at least 2 examples per optimizer step (train.micro_batch_size x train.grad_accum): " +
              "the KL estimate pairs each completion with another example's prompt");
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
            Check(m.Freeze.TrainableLayers.Count + m.Freeze.TrainableModules.Count > 0, "method.freeze",
                  "method.type freeze needs 'method.freeze.trainable_layers' or 'method.freeze.trainable_modules' (nothing would train)");
        if (m.IsAdapter) ValidateLora(m.Lora);
    }

    void ValidateLora(LoraSection l)
    {
        Check(!(l.TargetRegex != null && !l.Targets.IsEmpty), "method.lora.target_regex",
              "set either 'method.lora.targets' or 'method.lora.target_regex', not both");
        Check(l.TargetRegex != null || !l.Targets.IsEmpty, "method.lora.targets",
              "'method.lora.targets' is empty: list module name suffixes, use all-linear, or set 'method.lora.target_regex'");
        if (l.TargetRegex != null) ValidRegex(l.TargetRegex, "method.lora.target_regex");
        for (int i = 0; i < l.Targets.Suffixes.Count; i++)
            Check(l.Targets.Suffixes[i].Length > 0, $"method.lora.targets[{i}]", $"'method.lora.targets[{i}]' is empty");
        // PEFT's exclude_modules: one string = a regex over the whole path; a list = module names (suffix match).
        if (l.Exclude.Regex != null) ValidRegex(l.Exclude.Regex, "method.lora.exclude");
        for (int i = 0; i < l.Exclude.Names.Count; i++)
            Check(ModuleNameRegex().IsMatch(l.Exclude.Names[i]), $"method.lora.exclude[{i}]",
                  $"'method.lora.exclude[{i}]' is '{l.Exclude.Names[i]}', not a module name (letters, digits, '_', '.'): a list matches " +
                  "module names and path suffixes; to exclude by regular expression give 'method.lora.exclude' one string");
    }

    [GeneratedRegex(@"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")]
    private static partial Regex ModuleNameRegex();

    void ValidateData(DataSection d)
    {
        Check(d.Datasets.Count > 0, "data.datasets", "at least one dataset is required in 'data.datasets'");
        Check(d.ValPath == null || d.ValSize == 0, "data.val_size", "set either 'data.val_path' or 'data.val_size', not both");
    }

    void ValidateOptimizer(OptimizerSection o)
    {
        Check(o.Betas.Count == 2, "optimizer.betas", $"'optimizer.betas' must have 2 values [beta1, beta2], found {o.Betas.Count}");
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
        Check(s.WarmupSteps == null || s.WarmupRatio == 0, "schedule.warmup_ratio",
              "set either 'schedule.warmup_steps' or 'schedule.warmup_ratio', not both");
        if (s.WarmupSteps is int w && t.MaxSteps is int max)
            Check(w <= max, "schedule.warmup_steps", $"'schedule.warmup_steps' ({w}) is longer than training ('train.max_steps' = {max})");
        Check(s.MinLrRatio == 0 || s.Type is ScheduleType.CosineWithMinLr or ScheduleType.Wsd, "schedule.min_lr_ratio",
              $"'schedule.min_lr_ratio' is only used by cosine_with_min_lr and wsd (schedule.type is {type})");
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
    }

    void ValidateEval(EvalSection e, DataSection d)
    {
        bool hasValidation = d.ValPath != null || d.ValSize > 0;
        Check(e.EverySteps == null || hasValidation, "eval.every_steps",
              "'eval.every_steps' needs validation data: set 'data.val_path' or 'data.val_size'");
        Check(e.EarlyStoppingPatience == null || e.EverySteps != null, "eval.early_stopping_patience",
              "'eval.early_stopping_patience' needs periodic evaluation: set 'eval.every_steps'");
    }

    void ValidateOutput(OutputSection o, MethodSection m)
    {
        Check(!o.SaveMerged || m.IsAdapter, "output.save_merged",
              $"'output.save_merged' only applies to lora, dora and qlora (method.type is {ConfigNames.Of(m.Type)})");
    }
}
