namespace TuneSharp.Training.Runtime;

/// <summary>
/// A request to stop a run gracefully: the recipe finishes the optimizer step in progress, writes a checkpoint and
/// returns with status "interrupted". The host decides when to ask: the tunesharp CLI on SIGINT/SIGTERM, a jobs service
/// on a cancel request, a test. The library never installs signal handlers, so a process that embeds training keeps its
/// own Ctrl+C. To abandon a run without a checkpoint, cancel the recipe's CancellationToken instead.
/// </summary>
public sealed class StopSignal
{
    volatile bool _requested;

    public bool Requested => _requested;

    /// <summary>Asks the run to stop after the current step; safe from any thread, idempotent.</summary>
    public void Request() => _requested = true;
}
