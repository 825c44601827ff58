using System.Runtime.InteropServices;

namespace TuneSharp.Training.Runtime;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM ask the run to stop: the trainer finishes the current step, writes a checkpoint and exits.
/// A second signal is left to the default handler (immediate exit).
/// </summary>
public sealed class StopSignal : IDisposable
{
    readonly List<PosixSignalRegistration> _registrations = [];
    volatile bool _requested;

    public StopSignal()
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            _registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                if (_requested) return; // second signal: default behaviour
                _requested = true;
                Signal = ctx.Signal;
                ctx.Cancel = true;
            }));
    }

    public bool Requested => _requested;
    public PosixSignal? Signal { get; private set; }

    /// <summary>Used by tests and by callers with their own cancellation.</summary>
    public void Request() => _requested = true;

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
