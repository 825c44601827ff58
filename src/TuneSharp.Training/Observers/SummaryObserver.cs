using System.Text.Json;

namespace TuneSharp.Training.Observers;

/// <summary>
/// Writes <c>summary.json</c> at the end of a run: the run info, the summary, and each estimate next to its measured
/// value with their ratio. Written to a temp file and renamed, so readers never see a partial file.
/// </summary>
public sealed class SummaryObserver(string path) : ITrainingObserver
{
    RunInfo? _info;

    public string Path => path;

    public void OnStart(RunInfo info) => _info = info;
    public void OnStep(StepMetrics metrics) { }
    public void OnEval(EvalMetrics metrics) { }
    public void OnCheckpoint(long step, string checkpointPath) { }

    public void OnEnd(RunSummary summary)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        string tmp = path + ".tmp";
        using (var stream = File.Create(tmp))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            if (_info is not null)
            {
                w.WriteStartObject("run");
                ObserverJson.RunInfoFields(w, _info);
                w.WriteEndObject();
            }
            w.WriteStartObject("summary");
            ObserverJson.SummaryFields(w, summary);
            w.WriteEndObject();
            w.WriteStartObject("estimate_vs_measured");
            Compare(w, "peak_memory_bytes", summary.EstimatedPeakMemoryBytes ?? _info?.EstimatedPeakMemoryBytes, summary.PeakMemoryBytes);
            Compare(w, "seconds", summary.EstimatedSeconds ?? _info?.EstimatedSeconds, summary.WallSeconds);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        File.Move(tmp, path, overwrite: true);
    }

    static void Compare(Utf8JsonWriter w, string name, double? estimated, double measured)
    {
        w.WriteStartObject(name);
        ObserverJson.Number(w, "estimated", estimated);
        ObserverJson.Number(w, "measured", measured);
        ObserverJson.Number(w, "ratio", estimated is > 0 ? measured / estimated : null);
        w.WriteEndObject();
    }

    public void Dispose() { }
}
