using System.Text.Json;
using TuneSharp.Core.IO;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;

namespace TuneSharp.Training.Runtime;

/// <summary>A resume (or a fresh start) refused because the folder holds another or a finished run.</summary>
public sealed class RunConflictException(string message) : InvalidOperationException(message);

/// <summary>
/// The output folder of one run, held for the life of the run: created if needed, locked (one run per folder), cleaned
/// of temporary folders left by killed processes, and the place where the resume decision is made. Files of the run
/// (<c>resolved_config.yaml</c>, <c>run.json</c> with the status and identity) are written only once the run is
/// accepted, and a run that fails before its first checkpoint in a folder it created removes the folder again, so a
/// refused or failed start leaves nothing behind.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    const string RunFile = "run.json", ResolvedConfig = "resolved_config.yaml";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    readonly OutputLock _lock;
    readonly bool _created;   // this process created the folder (or found it empty)
    bool _accepted;

    RunDirectory(string path, OutputLock outputLock, bool created, RunRecord? previous)
    {
        Path = path;
        _lock = outputLock;
        _created = created;
        Previous = previous;
    }

    public string Path { get; }

    /// <summary>What an earlier process of this folder recorded (null for a new folder).</summary>
    public RunRecord? Previous { get; }

    /// <summary>The status of a run as recorded in run.json.</summary>
    public sealed record RunRecord(string Status, long Step, DateTimeOffset Updated);

    /// <summary>Creates and locks the folder and removes stale temporary checkpoint folders (the lock proves their owner is gone).</summary>
    public static RunDirectory Open(string outputDir)
    {
        string path = System.IO.Path.GetFullPath(outputDir);
        if (File.Exists(path))
            throw new IOException($"output.dir {path} is a file, not a folder: choose a folder path");
        bool created = !Directory.Exists(path) || !Directory.EnumerateFileSystemEntries(path).Any();
        Directory.CreateDirectory(path);
        OutputLock outputLock;
        try { outputLock = OutputLock.Acquire(path); }
        catch
        {
            if (created) TryDeleteDirectory(path);
            throw;
        }
        try
        {
            // Held lock: whatever a killed writer left (checkpoint and output temp folders) is stale.
            CheckpointStore.RemoveStaleTemporaries(path);
            AtomicDirectory.RemoveLeftovers(path);
            return new RunDirectory(path, outputLock, created, ReadRecord(path));
        }
        catch
        {
            outputLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decides where the run starts, comparing <paramref name="identity"/> with the newest checkpoint's:
    /// no checkpoint -> a fresh start; the same run, unfinished -> resume; a finished run -> refused unless
    /// <c>--resume</c> (then it continues, e.g. with a larger max_steps); any difference -> refused with the keys that
    /// differ, except safe ones (length, evaluation, logging, checkpoint cadence) with <c>--resume</c>.
    /// <c>output.resume: never</c> refuses any folder with checkpoints; <c>force</c> acts as <c>--resume</c>.
    /// Then writes resolved_config.yaml and run.json (status running).
    /// </summary>
    public ResumePoint? Accept(RunIdentity identity, string resolvedYaml, ResumeMode mode, bool forceResume, TextWriter log)
    {
        if (forceResume) mode = ResumeMode.Force;
        var latest = CheckpointStore.LatestVerified(Path, log);
        if (latest is null && mode == ResumeMode.Force)
            throw new RunConflictException($"--resume: no checkpoint in {CheckpointStore.Root(Path)} to resume from");
        if (latest is not null)
        {
            if (mode == ResumeMode.Never)
                throw new RunConflictException($"{Path} already holds checkpoints (output.resume is never): choose another output.dir or delete them");
            var diffs = identity.Compare(latest.Identity);
            var unsafeDiffs = diffs.Where(d => !d.Safe).ToList();
            if (unsafeDiffs.Count > 0)
                throw new RunConflictException(
                    $"{Path} holds another run (checkpoint step {latest.Step}); these differ from it:\n  " + string.Join("\n  ", unsafeDiffs) +
                    "\nChoose a new output.dir for a new run" + (unsafeDiffs.Count < diffs.Count ? " (the other differences are allowed with --resume)" : "") + ".");
            if (diffs.Count > 0 && mode != ResumeMode.Force)
                throw new RunConflictException(
                    $"{Path} holds this run (checkpoint step {latest.Step}) with other settings:\n  " + string.Join("\n  ", diffs) +
                    "\nPass --resume to continue it with these changes, or choose a new output.dir.");
            if (Previous?.Status is "completed" or "early_stopped" && mode != ResumeMode.Force)
                throw new RunConflictException(
                    $"{Path} holds a finished run ({Previous.Status.Replace('_', ' ')} at step {Previous.Step}); its outputs are kept. " +
                    "To train further raise train.max_steps (or epochs) and pass --resume; for a new run choose another output.dir.");
        }
        AtomicFile.WriteAllText(System.IO.Path.Combine(Path, ResolvedConfig), resolvedYaml);
        _accepted = true;
        Record("running", latest?.Step ?? 0);
        return latest;
    }

    /// <summary>Records the run's status (running, completed, early_stopped, interrupted, failed) in run.json.</summary>
    public void Record(string status, long step) =>
        AtomicFile.WriteAllText(System.IO.Path.Combine(Path, RunFile),
            JsonSerializer.Serialize(new RunRecord(status, step, DateTimeOffset.UtcNow), Json));

    /// <summary>
    /// The run failed or was cancelled: a folder this process created and that has no checkpoint is removed whole
    /// (lock, config, logs); otherwise an accepted run is recorded as failed and everything else is kept.
    /// </summary>
    public void Abandon(long step)
    {
        if (_created && CheckpointStore.LatestStep(Path) is null)
        {
            _lock.Dispose();
            TryDeleteDirectory(Path);
            return;
        }
        if (_accepted) Record("failed", step);
    }

    static RunRecord? ReadRecord(string dir)
    {
        string path = System.IO.Path.Combine(dir, RunFile);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<RunRecord>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a run record ({e.Message}); delete it to let the run continue", e); }
    }

    static void TryDeleteDirectory(string path)
    {
        try { Directory.Delete(path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public void Dispose() => _lock.Dispose();
}
