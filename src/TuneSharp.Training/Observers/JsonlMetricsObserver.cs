using System.Buffers;
using System.Text;
using System.Text.Json;

namespace TuneSharp.Training.Observers;

/// <summary>
/// Appends one JSON object per event to a JSONL file (<c>{"type":"step","step":10,...}</c>; types start, step, eval,
/// samples, checkpoint, end), flushed after every line so a killed run keeps every completed step. On start the file is made
/// consistent with the run: a fresh run (start step 0) truncates it; a resumed run keeps only lines whose step is at
/// most <see cref="RunInfo.StartStep"/> (and drops a torn last line), so replayed steps are never duplicated.
/// </summary>
public sealed class JsonlMetricsObserver : ITrainingObserver
{
    readonly string _path;
    readonly TimeProvider _clock;
    readonly ArrayBufferWriter<byte> _buffer = new();
    FileStream? _file;

    public JsonlMetricsObserver(string path, TimeProvider? clock = null)
    {
        _path = path;
        _clock = clock ?? TimeProvider.System;
    }

    public string Path => _path;

    public void OnStart(RunInfo info)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path))!);
        if (info.StartStep == 0) File.Delete(_path);
        else if (File.Exists(_path)) KeepUpTo(info.StartStep);
        _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        Write("start", w => { w.WriteNumber("step", info.StartStep); ObserverJson.RunInfoFields(w, info); });
    }

    // Rewrites the file (temp + rename) with the complete lines whose "step" is <= startStep.
    void KeepUpTo(long startStep)
    {
        var kept = new StringBuilder();
        foreach (var line in File.ReadLines(_path))
        {
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt64() > startStep)
                    continue;
            }
            catch (JsonException) { continue; } // a line torn by a kill mid-write
            kept.Append(line).Append('\n');
        }
        string tmp = _path + ".tmp";
        File.WriteAllText(tmp, kept.ToString());
        File.Move(tmp, _path, overwrite: true);
    }

    public void OnStep(StepMetrics metrics) => Write("step", w => ObserverJson.StepFields(w, metrics));

    public void OnEval(EvalMetrics metrics) => Write("eval", w => ObserverJson.EvalFields(w, metrics));

    public void OnCheckpoint(long step, string path) => Write("checkpoint", w =>
    {
        w.WriteNumber("step", step);
        w.WriteString("path", path);
    });

    public void OnSamples(SampleSet samples) => Write("samples", w =>
    {
        w.WriteNumber("step", samples.Step);
        w.WriteStartArray("samples");
        foreach (var (prompt, answer) in samples.Samples)
        {
            w.WriteStartObject();
            w.WriteString("prompt", prompt);
            w.WriteString("answer", answer);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    public void OnEnd(RunSummary summary) => Write("end", w =>
    {
        w.WriteNumber("step", summary.Steps); // so a resume before this step drops the old end line too
        ObserverJson.SummaryFields(w, summary);
    });

    void Write(string type, Action<Utf8JsonWriter> fields)
    {
        var file = _file ?? throw new InvalidOperationException($"{_path}: metrics event '{type}' before OnStart");
        _buffer.Clear();
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            fields(w);
            w.WriteString("time", _clock.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        file.Write(_buffer.WrittenSpan);
        file.WriteByte((byte)'\n');
        file.Flush(); // to the OS: survives a killed process
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }
}
