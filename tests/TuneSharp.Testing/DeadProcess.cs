using System.Diagnostics;

namespace TuneSharp.Testing;

/// <summary>Process ids for stale-file tests.</summary>
public static class DeadProcess
{
    /// <summary>The id of a real process that has exited: nothing named after it can still be in use.</summary>
    public static int Id()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }
}
