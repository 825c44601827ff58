using System.Text.Json;

namespace TuneSharp.Training.Observers;

/// <summary>
/// The JSON shape of observer events (snake_case, as the metrics file and summary.json are read by scripts).
/// Non-finite numbers (a diverged loss) are written as null: JSON has no NaN.
/// </summary>
static class ObserverJson
{
    public static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    public static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) Number(w, name, v);
        else w.WriteNull(name);
    }

    static void Text(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    public static void RunInfoFields(Utf8JsonWriter w, RunInfo i)
    {
        w.WriteString("output_dir", i.OutputDir);
        w.WriteString("model", i.ModelName);
        w.WriteString("method", i.Method);
        w.WriteNumber("total_parameters", i.TotalParameters);
        w.WriteNumber("trainable_parameters", i.TrainableParameters);
        w.WriteNumber("total_steps", i.TotalSteps);
        w.WriteNumber("epochs", i.Epochs);
        w.WriteNumber("start_step", i.StartStep);
        w.WriteNumber("train_examples", i.TrainExamples);
        w.WriteNumber("validation_examples", i.ValidationExamples);
        w.WriteNumber("trained_tokens_per_epoch", i.TrainedTokensPerEpoch);
        w.WriteNumber("tokens_per_epoch", i.TokensPerEpoch);
        Number(w, "estimated_peak_memory_bytes", i.EstimatedPeakMemoryBytes);
        Number(w, "estimated_seconds", i.EstimatedSeconds);
        w.WriteStartArray("notes");
        foreach (var n in i.Notes) w.WriteStringValue(n);
        w.WriteEndArray();
    }

    public static void StepFields(Utf8JsonWriter w, StepMetrics m)
    {
        w.WriteNumber("step", m.Step);
        Number(w, "epoch", m.Epoch);
        Number(w, "loss", m.Loss);
        Number(w, "lr", m.LearningRate);
        Number(w, "grad_norm", m.GradNorm);
        w.WriteNumber("trained_tokens", m.TrainedTokens);
        w.WriteNumber("tokens", m.Tokens);
        Number(w, "step_seconds", m.StepSeconds);
        Number(w, "tokens_per_s", m.TokensPerSecond);
        Named(w, m.Metrics);
    }

    /// <summary>Named metrics as top-level fields, in name order so lines are stable.</summary>
    static void Named(Utf8JsonWriter w, IReadOnlyDictionary<string, double> metrics)
    {
        foreach (var (name, value) in metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            Number(w, NamedMetrics.Check(name), value);
    }

    public static void EvalFields(Utf8JsonWriter w, EvalMetrics e)
    {
        w.WriteNumber("step", e.Step);
        Number(w, "loss", e.Loss);
        Number(w, "ppl", e.Perplexity);
        Number(w, "accuracy", e.TokenAccuracy);
        w.WriteNumber("tokens", e.Tokens);
        w.WriteBoolean("is_best", e.IsBest);
        Named(w, e.Metrics);
    }

    public static void SummaryFields(Utf8JsonWriter w, RunSummary s)
    {
        w.WriteString("status", s.Status);
        w.WriteNumber("steps", s.Steps);
        Number(w, "final_loss", s.FinalLoss);
        Number(w, "best_eval_loss", s.BestEvalLoss);
        if (s.BestStep is { } b) w.WriteNumber("best_step", b); else w.WriteNull("best_step");
        w.WriteNumber("trained_tokens", s.TrainedTokens);
        Number(w, "wall_seconds", s.WallSeconds);
        Number(w, "peak_memory_bytes", s.PeakMemoryBytes);
        Number(w, "estimated_peak_memory_bytes", s.EstimatedPeakMemoryBytes);
        Number(w, "estimated_seconds", s.EstimatedSeconds);
        Number(w, "eval_loss_before", s.EvalLossBefore);
        Number(w, "eval_loss_after", s.EvalLossAfter);
        w.WriteStartArray("samples");
        foreach (var (prompt, before, after) in s.Samples)
        {
            w.WriteStartObject();
            w.WriteString("prompt", prompt);
            w.WriteString("before", before);
            w.WriteString("after", after);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (s.Forgetting is { } f) ForgettingFields(w, f);
    }

    static void ForgettingFields(Utf8JsonWriter w, Forgetting.ForgettingSummary f)
    {
        w.WriteStartObject("forgetting");
        Number(w, "threshold", f.Threshold);
        w.WriteStartArray("metrics");
        foreach (var c in f.Changes)
        {
            w.WriteStartObject();
            w.WriteString("task", c.Task);
            w.WriteString("metric", c.Metric);
            w.WriteNumber("items", c.Items);
            Number(w, "before", c.Before);
            Number(w, "before_stderr", c.BeforeStderr);
            Number(w, "after", c.After);
            Number(w, "after_stderr", c.AfterStderr);
            Number(w, "drop", c.Drop);
            w.WriteBoolean("dropped", c.DroppedBeyond(f.Threshold));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("warnings");
        foreach (string warning in f.Warnings) w.WriteStringValue(warning);
        w.WriteEndArray();
        Text(w, "report", f.ReportPath);
        Text(w, "chart", f.ChartPath);
        w.WriteEndObject();
    }
}
