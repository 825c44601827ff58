namespace TuneSharp.Training.Observers;

/// <summary>
/// Fans every event out to several observers and isolates their failures: an observer that throws is reported once
/// (to <c>errors</c>, stderr by default), disposed and skipped from then on, and training goes on.
/// </summary>
public sealed class CompositeObserver : ITrainingObserver
{
    readonly ITrainingObserver[] _observers;
    readonly bool[] _disabled;
    readonly TextWriter _errors;

    public CompositeObserver(IEnumerable<ITrainingObserver> observers, TextWriter? errors = null)
    {
        _observers = [.. observers];
        _disabled = new bool[_observers.Length];
        _errors = errors ?? Console.Error;
    }

    /// <summary>The observers that have not failed.</summary>
    public IReadOnlyList<ITrainingObserver> Active => [.. _observers.Where((_, i) => !_disabled[i])];

    public void OnStart(RunInfo info) => Each(nameof(OnStart), o => o.OnStart(info));
    public void OnStep(StepMetrics metrics) => Each(nameof(OnStep), o => o.OnStep(metrics));
    public void OnEval(EvalMetrics metrics) => Each(nameof(OnEval), o => o.OnEval(metrics));
    public void OnCheckpoint(long step, string path) => Each(nameof(OnCheckpoint), o => o.OnCheckpoint(step, path));
    public void OnSamples(SampleSet samples) => Each(nameof(OnSamples), o => o.OnSamples(samples));
    public void OnEnd(RunSummary summary) => Each(nameof(OnEnd), o => o.OnEnd(summary));

    void Each(string eventName, Action<ITrainingObserver> action)
    {
        for (int i = 0; i < _observers.Length; i++)
        {
            if (_disabled[i]) continue;
            try { action(_observers[i]); }
            catch (Exception ex)
            {
                _disabled[i] = true;
                _errors.WriteLine($"warning: observer {_observers[i].GetType().Name} failed in {eventName} and is disabled: "
                    + $"{ex.GetType().Name}: {ex.Message}");
                _errors.Flush();
                DisposeQuietly(_observers[i]);
            }
        }
    }

    void DisposeQuietly(ITrainingObserver o)
    {
        try { o.Dispose(); }
        catch (Exception ex) { _errors.WriteLine($"warning: observer {o.GetType().Name} failed to dispose: {ex.Message}"); }
    }

    public void Dispose()
    {
        for (int i = 0; i < _observers.Length; i++)
            if (!_disabled[i]) DisposeQuietly(_observers[i]);
        Array.Fill(_disabled, true);
    }
}
