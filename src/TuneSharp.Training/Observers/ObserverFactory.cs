using TuneSharp.Training.Config;

namespace TuneSharp.Training.Observers;

/// <summary>The observers a run gets from its `logging:` section; files go to the output folder.</summary>
public static class ObserverFactory
{
    public static IReadOnlyList<ITrainingObserver> Create(LoggingSection logging, string outputDir, TextWriter console)
    {
        var list = new List<ITrainingObserver>();
        if (logging.Progress != ProgressMode.None)
            list.Add(new ProgressObserver(console, logging.Progress, plainEvery: Math.Max(1, logging.EverySteps)));
        if (logging.Jsonl) list.Add(new JsonlMetricsObserver(Path.Combine(outputDir, "metrics.jsonl")));
        if (logging.Tensorboard) list.Add(new TensorBoardObserver(Path.Combine(outputDir, "tensorboard")));
        if (logging.Plot) list.Add(new PlotObserver(outputDir));
        list.Add(new SummaryObserver(Path.Combine(outputDir, "summary.json")));
        return list;
    }
}
