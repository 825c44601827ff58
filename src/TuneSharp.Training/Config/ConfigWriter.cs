using System.Globalization;
using System.Text;

namespace TuneSharp.Training.Config;

/// <summary>Writes a resolved <see cref="TrainConfig"/> as YAML that binds back to an equal config.</summary>
internal sealed class ConfigWriter
{
    readonly StringBuilder _sb = new();
    int _indent;

    public static string Write(TrainConfig c)
    {
        var w = new ConfigWriter();
        w._sb.Append("# Resolved TuneSharp config: defaults filled in, overrides applied, paths absolute.\n");
        w.Section("model", () =>
        {
            w.Line("path", Str(c.Model.Path));
            w.Line("dtype", Enum(c.Model.DType));
            w.Line("device", Str(c.Model.Device.ToString()));
            w.Line("adapter", c.Model.Adapter is null ? "null" : Str(c.Model.Adapter));
        });
        w.Section("method", () => w.Method(c.Method));
        w.Section("data", () => w.Data(c.Data));
        w.Section("optimizer", () =>
        {
            var o = c.Optimizer;
            w.Line("name", Enum(o.Name));
            w.Line("lr", Num(o.Lr));
            w.Line("weight_decay", Num(o.WeightDecay));
            w.Line("betas", Flow(o.Betas.Select(b => Num(b))));
            w.Line("eps", Num(o.Eps));
            w.Line("momentum", Num(o.Momentum));
            w.Line("no_decay", Flow(o.NoDecay.Select(Str)));
        });
        w.Section("schedule", () =>
        {
            var s = c.Schedule;
            w.Line("type", Enum(s.Type));
            w.Line("warmup_steps", Int(s.WarmupSteps));
            w.Line("warmup_ratio", Num(s.WarmupRatio));
            w.Line("min_lr_ratio", Num(s.MinLrRatio));
            w.Line("decay_ratio", Num(s.DecayRatio));
        });
        w.Section("train", () =>
        {
            var t = c.Train;
            w.Line("epochs", Num(t.Epochs));
            w.Line("max_steps", Int(t.MaxSteps));
            w.Line("micro_batch_size", Int(t.MicroBatchSize));
            w.Line("grad_accum", Int(t.GradAccum));
            w.Line("max_grad_norm", Num(t.MaxGradNorm));
            w.Line("seed", Int(t.Seed));
            w.Line("grad_checkpointing", Bool(t.GradCheckpointing));
        });
        w.Section("eval", () =>
        {
            var e = c.Eval;
            w.Line("every_steps", Int(e.EverySteps));
            w.Line("at_end", Bool(e.AtEnd));
            w.Line("max_batches", Int(e.MaxBatches));
            w.Line("early_stopping_patience", Int(e.EarlyStoppingPatience));
            w.Line("samples", Flow(e.Samples.Select(Str)));
        });
        w.Section("output", () =>
        {
            var o = c.Output;
            w.Line("dir", Str(o.Dir));
            w.Line("save_every_steps", Int(o.SaveEverySteps));
            w.Line("keep_last", Int(o.KeepLast));
            w.Line("resume", Enum(o.Resume));
            w.Line("save_merged", Bool(o.SaveMerged));
        });
        w.Section("logging", () =>
        {
            var l = c.Logging;
            w.Line("every_steps", Int(l.EverySteps));
            w.Line("jsonl", Bool(l.Jsonl));
            w.Line("tensorboard", Bool(l.Tensorboard));
            w.Line("plot", Bool(l.Plot));
            w.Line("progress", Enum(l.Progress));
        });
        return w._sb.ToString();
    }

    void Method(MethodSection m)
    {
        Line("type", Enum(m.Type));
        Line("stage", Enum(m.Stage));
        // Only the sub-section the method uses is written: the others would be rejected on reload.
        if (m.Type == MethodType.Freeze)
            Section("freeze", () =>
            {
                Line("trainable_layers", Flow(m.Freeze.TrainableLayers.Select(i => Int(i))));
                Line("trainable_modules", Flow(m.Freeze.TrainableModules.Select(Str)));
            });
        if (m.IsAdapter)
            Section("lora", () =>
            {
                var l = m.Lora;
                Line("r", Int(l.R));
                Line("alpha", Num(l.Alpha));
                Line("dropout", Num(l.Dropout));
                Line("targets", l.Targets.AllLinear ? "all-linear" : Flow(l.Targets.Suffixes.Select(Str)));
                Line("target_regex", l.TargetRegex is null ? "null" : Str(l.TargetRegex));
                Line("exclude", Flow(l.Exclude.Select(Str)));
                Line("rslora", Bool(l.RsLora));
                Line("lora_plus_ratio", Num(l.LoraPlusRatio));
                Line("modules_to_save", Flow(l.ModulesToSave.Select(Str)));
                Line("rank_pattern", FlowMap(l.RankPattern.Select(kv => (kv.Key, Int(kv.Value)))));
                Line("alpha_pattern", FlowMap(l.AlphaPattern.Select(kv => (kv.Key, Num(kv.Value)))));
                Line("init", Enum(l.Init));
            });
        if (m.Type == MethodType.Qlora)
            Section("quant", () =>
            {
                Line("bits", Int(m.Quant.Bits));
                Line("block_size", Int(m.Quant.BlockSize));
                Line("double_quant", Bool(m.Quant.DoubleQuant));
            });
    }

    void Data(DataSection d)
    {
        if (d.Datasets.Count == 0) Line("datasets", "[]");
        else
        {
            Raw("datasets:");
            foreach (var ds in d.Datasets)
            {
                Raw($"  - path: {Str(ds.Path)}");
                _indent += 4;
                Line("format", Enum(ds.Format));
                Line("columns", FlowMap(ds.Columns.Select(kv => (kv.Key, Str(kv.Value)))));
                Line("weight", Num(ds.Weight));
                Line("max_samples", Int(ds.MaxSamples));
                Line("split", ds.Split is null ? "null" : Str(ds.Split));
                _indent -= 4;
            }
        }
        Line("val_path", d.ValPath is null ? "null" : Str(d.ValPath));
        Line("val_size", Num(d.ValSize));
        Line("template", Str(d.Template.ToString()));
        Line("max_seq_len", Int(d.MaxSeqLen));
        Line("packing", Bool(d.Packing));
        Line("train_on", Enum(d.TrainOn));
        Line("truncation", Enum(d.Truncation));
        Line("shuffle", Bool(d.Shuffle));
        Line("dedup", Bool(d.Dedup));
        Line("max_samples", Int(d.MaxSamples));
    }

    void Section(string key, Action body)
    {
        Raw(key + ":");
        _indent += 2;
        body();
        _indent -= 2;
    }

    void Line(string key, string value) => Raw($"{key}: {value}");

    void Raw(string text) => _sb.Append(' ', _indent).Append(text).Append('\n');

    static string Enum<T>(T value) where T : struct, System.Enum => ConfigNames.Of(value);
    static string Bool(bool b) => b ? "true" : "false";
    static string Int(int? v) => v is int i ? i.ToString(CultureInfo.InvariantCulture) : "null";

    /// <summary>Shortest round-trip form, always recognisable as a float (1 -> 1.0, 1E-08 -> 1.0e-08).</summary>
    static string Num(double? v)
    {
        if (v is not double d) return "null";
        // "1E-08" -> "1.0e-08": a dot in the mantissa keeps YAML 1.1 readers (PyYAML) seeing a float too.
        string[] parts = d.ToString("R", CultureInfo.InvariantCulture).Split('E');
        string mantissa = parts[0].Contains('.') ? parts[0] : parts[0] + ".0";
        return parts.Length == 2 ? mantissa + "e" + parts[1] : mantissa;
    }

    static string Flow(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";
    static string FlowMap(IEnumerable<(string Key, string Value)> items) =>
        "{" + string.Join(", ", items.Select(kv => $"{Str(kv.Key)}: {kv.Value}")) + "}";

    /// <summary>A string scalar: plain when it cannot be mistaken for anything else, otherwise double-quoted.</summary>
    static string Str(string s)
    {
        bool plain = s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] is '_' or '/' or '.') &&
                     s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or '@' or '+') &&
                     !YamlScalars.LooksNumeric(s) && s.ToLowerInvariant() is not ("null" or "true" or "false");
        if (plain) return s;
        var sb = new StringBuilder("\"");
        foreach (char c in s)
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return sb.Append('"').ToString();
    }
}
