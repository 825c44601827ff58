namespace TuneSharp.Training.Observers;

/// <summary>
/// At the end of a run writes <c>loss.png</c> (train loss per step, eval loss as points), <c>lr.png</c> (learning rate
/// per step) and, for each named metric a recipe reported, <c>plots/{name}.png</c> (train line, eval points; `/` in a
/// name becomes `_`) into <c>dir</c> with ScottPlot. Non-finite values are left out of the plots. A resumed run reads
/// the steps before its start step back from <c>metrics.jsonl</c> (when present), so its plots show the whole run.
/// </summary>
public sealed class PlotObserver(string dir, int width = 900, int height = 500) : ITrainingObserver
{
    readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);

    /// <summary>One plotted quantity: its per-step line and its evaluation points.</summary>
    sealed class Series
    {
        public readonly List<double> Steps = [], Values = [], EvalSteps = [], EvalValues = [];
    }

    public string LossPath => Path.Combine(dir, "loss.png");
    public string LrPath => Path.Combine(dir, "lr.png");
    /// <summary>The steps plotted so far for a quantity (loss, lr or a metric name), train line first then eval points.</summary>
    public IReadOnlyList<double> PlottedSteps(string name) =>
        _series.TryGetValue(name, out var s) ? [.. s.Steps, .. s.EvalSteps] : [];

    public string MetricPath(string name) => Path.Combine(dir, "plots", NamedMetrics.FileName(name) + ".png");

    public void OnStart(RunInfo info)
    {
        if (info.StartStep > 0) Replay(Path.Combine(dir, "metrics.jsonl"), info.StartStep);
    }

    public void OnStep(StepMetrics m)
    {
        Add("loss", m.Step, m.Loss, eval: false);
        Add("lr", m.Step, m.LearningRate, eval: false);
        foreach (var (name, value) in m.Metrics) Add(name, m.Step, value, eval: false);
    }

    public void OnEval(EvalMetrics e)
    {
        Add("loss", e.Step, e.Loss, eval: true);
        foreach (var (name, value) in e.Metrics) Add(name, e.Step, value, eval: true);
    }

    void Add(string name, long step, double value, bool eval)
    {
        if (!double.IsFinite(value)) return;
        if (!_series.TryGetValue(name, out var s)) _series[name] = s = new Series();
        (eval ? s.EvalSteps : s.Steps).Add(step);
        (eval ? s.EvalValues : s.Values).Add(value);
    }

    /// <summary>Steps and evaluations up to <paramref name="startStep"/> from an earlier process of the same run.</summary>
    void Replay(string metricsPath, long startStep)
    {
        foreach (var record in MetricsFile.Read(metricsPath).Where(r => r.Step <= startStep))
            foreach (var (name, value) in record.Values)
                Add(name, record.Step, value, eval: record.Type == "eval");
    }

    public void OnCheckpoint(long step, string path) { }

    public void OnEnd(RunSummary summary)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, series) in _series)
        {
            string path = name switch { "loss" => LossPath, "lr" => LrPath, _ => MetricPath(name) };
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Save(series, name == "lr" ? "learning rate" : name, name == "lr" ? "lr" : name, path);
        }
    }

    void Save(Series s, string title, string yLabel, string path)
    {
        using var plot = new ScottPlot.Plot();
        if (s.Steps.Count > 0) plot.Add.ScatterLine(s.Steps.ToArray(), s.Values.ToArray()).LegendText = "train";
        if (s.EvalSteps.Count > 0)
        {
            var eval = plot.Add.ScatterPoints(s.EvalSteps.ToArray(), s.EvalValues.ToArray());
            eval.LegendText = "eval";
            eval.MarkerSize = 8;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        if (s.Steps.Count > 0 && s.EvalSteps.Count > 0) plot.ShowLegend();
        string tmp = path + ".tmp.png";
        plot.SavePng(tmp, width, height);
        File.Move(tmp, path, overwrite: true);
    }

    public void Dispose() { }
}
