using System.Runtime.InteropServices;

namespace TuneSharp.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM for the tunesharp process. A signal stops the innermost thing running: an open
/// <see cref="Scope"/> (a chat reply) if there is one, else the verb, through <see cref="Token"/> (train finishes its
/// step and writes a checkpoint, generate stops streaming, data verbs stop reading); the verb then exits 130 after SIGINT,
/// 143 after SIGTERM. A signal that arrives once the verb is already stopping ends the process at once with its code,
/// without unwinding (what was written stays written). Only the program's entry point installs these handlers: the
/// libraries take a CancellationToken or a StopSignal, so a host that embeds them keeps its own Ctrl+C.
/// </summary>
public sealed class Interrupts : IDisposable
{
    readonly object _gate = new();
    readonly CancellationTokenSource _verb = new();
    readonly List<PosixSignalRegistration> _registrations = [];
    readonly TextWriter _stderr;
    readonly Action<int> _exitNow;
    Scope? _scope;
    PosixSignal? _signal;

    Interrupts(TextWriter stderr, Action<int> exitNow)
    {
        _stderr = stderr;
        _exitNow = exitNow;
    }

    /// <summary>Takes over SIGINT and SIGTERM for this process (the tunesharp program only).</summary>
    public static Interrupts Install(TextWriter stderr)
    {
        var interrupts = new Interrupts(stderr, ExitNow);
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            interrupts._registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // the runtime's default would end the process mid-step
                interrupts.Deliver(context.Signal);
            }));
        return interrupts;
    }

    /// <summary>No handlers (a run inside another process, e.g. a test host); <see cref="Deliver"/> acts as a signal would,
    /// except that the last resort does not end the host.</summary>
    public static Interrupts Detached(TextWriter stderr) => new(stderr, _ => { });

    /// <summary>Cancelled by the first signal that no scope takes: the verb should stop cleanly.</summary>
    public CancellationToken Token => _verb.Token;

    /// <summary>The signal that stopped the verb, or null.</summary>
    public PosixSignal? Signal
    {
        get { lock (_gate) return _signal; }
    }

    /// <summary>The exit code of a verb stopped by a signal (null if none came).</summary>
    public int? ExitCode => Signal is { } s ? CodeOf(s) : null;

    /// <summary>128 + the signal number, as shells report a process ended by it: 130 for SIGINT, 143 for SIGTERM.</summary>
    public static int CodeOf(PosixSignal signal) => signal == PosixSignal.SIGTERM ? 143 : 130;

    /// <summary>What a received signal does; called by the handlers (and by tests of a detached instance).</summary>
    public void Deliver(PosixSignal signal)
    {
        bool first;
        lock (_gate)
        {
            if (_scope is { Stopped: false } scope)
            {
                scope.Stop();
                return;
            }
            first = _signal == null;
            _signal ??= signal;
        }
        if (first)
        {
            Say($"{Name(signal)}: stopping cleanly; a second {Name(signal)} exits at once");
            try { _verb.Cancel(); }
            catch (AggregateException e) { Say($"error while stopping: {e.InnerException?.Message}"); } // never throw from a handler
            return;
        }
        Say($"{Name(signal)} again: exiting now (exit code {CodeOf(signal)})");
        _exitNow(CodeOf(signal));
    }

    /// <summary>A note on stderr that cannot hang the handler (stderr may be a pipe nobody reads).</summary>
    void Say(string text) => Task.Run(() => _stderr.WriteLine(text)).Wait(TimeSpan.FromSeconds(1));

    /// <summary>
    /// Opens a scope that the next signal stops instead of the verb (a chat reply); it also stops when the verb does.
    /// Scopes do not nest.
    /// </summary>
    public Scope OpenScope()
    {
        lock (_gate)
        {
            if (_scope != null) throw new InvalidOperationException("an interrupt scope is already open");
            return _scope = new Scope(this);
        }
    }

    void Close(Scope scope)
    {
        lock (_gate)
            if (_scope == scope) _scope = null;
    }

    /// <summary>Something a signal interrupts without stopping the verb. Dispose closes it.</summary>
    public sealed class Scope : IDisposable
    {
        readonly Interrupts _owner;
        readonly CancellationTokenSource _cts;

        internal Scope(Interrupts owner)
        {
            _owner = owner;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(owner._verb.Token);
        }

        /// <summary>Cancelled by a signal during the scope, or when the verb stops.</summary>
        public CancellationToken Token => _cts.Token;

        internal bool Stopped => _cts.IsCancellationRequested;

        internal void Stop() => _cts.Cancel();

        public void Dispose()
        {
            _owner.Close(this);
            _cts.Dispose();
        }
    }

    static string Name(PosixSignal signal) => signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT (Ctrl+C)";

    /// <summary>
    /// Ends the process now. Managed output is flushed first (bounded: a writer stuck on a full pipe must not keep the
    /// process alive); then _exit(2), which skips atexit handlers and C++ static destructors that would race with
    /// libtorch still running on another thread.
    /// </summary>
    static void ExitNow(int code)
    {
        Task.Run(() =>
        {
            Console.Out.Flush();
            Console.Error.Flush();
        }).Wait(TimeSpan.FromSeconds(1));
        if (OperatingSystem.IsWindows()) Environment.Exit(code);
        _exit(code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void _exit(int status);

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _verb.Dispose();
    }
}
