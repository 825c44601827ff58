namespace TuneSharp.Training.Observers;

/// <summary>
/// At the end of a run writes <c>loss.png</c> (train loss per step, eval loss as points) and <c>lr.png</c>
/// (learning rate per step) into <c>dir</c> with ScottPlot. Non-finite values are left out of the plots.
/// </summary>
public sealed class PlotObserver(string dir, int width = 900, int height = 500) : ITrainingObserver
{
    readonly List<double> _steps = [], _losses = [], _lrSteps = [], _lrs = [];
    readonly List<double> _evalSteps = [], _evalLosses = [];

    public string LossPath => Path.Combine(dir, "loss.png");
    public string LrPath => Path.Combine(dir, "lr.png");

    public void OnStart(RunInfo info) { }

    public void OnStep(StepMetrics m)
    {
        Add(_steps, _losses, m.Step, m.Loss);
        Add(_lrSteps, _lrs, m.Step, m.LearningRate);
    }

    public void OnEval(EvalMetrics e) => Add(_evalSteps, _evalLosses, e.Step, e.Loss);

    static void Add(List<double> xs, List<double> ys, long x, double y)
    {
        if (!double.IsFinite(y)) return;
        xs.Add(x);
        ys.Add(y);
    }

    public void OnCheckpoint(long step, string path) { }

    public void OnEnd(RunSummary summary)
    {
        Directory.CreateDirectory(dir);
        using (var loss = new ScottPlot.Plot())
        {
            if (_steps.Count > 0)
            {
                var train = loss.Add.ScatterLine(_steps.ToArray(), _losses.ToArray());
                train.LegendText = "train";
            }
            if (_evalSteps.Count > 0)
            {
                var eval = loss.Add.ScatterPoints(_evalSteps.ToArray(), _evalLosses.ToArray());
                eval.LegendText = "eval";
                eval.MarkerSize = 8;
            }
            loss.Title("loss");
            loss.XLabel("step");
            loss.YLabel("loss");
            loss.ShowLegend();
            loss.SavePng(LossPath, width, height);
        }
        using var lr = new ScottPlot.Plot();
        if (_lrSteps.Count > 0) lr.Add.ScatterLine(_lrSteps.ToArray(), _lrs.ToArray());
        lr.Title("learning rate");
        lr.XLabel("step");
        lr.YLabel("lr");
        lr.SavePng(LrPath, width, height);
    }

    public void Dispose() { }
}
