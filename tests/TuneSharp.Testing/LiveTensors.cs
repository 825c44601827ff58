using TorchSharp;

namespace TuneSharp.Testing;

/// <summary>Live TorchSharp tensors created on this thread and not yet disposed (for leak tests).</summary>
public static class LiveTensors
{
    public static long Count => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    /// <summary>Runs <paramref name="step"/> once to warm up, then <paramref name="repeats"/> times, and returns the growth
    /// in live tensors over the repeats (0 when nothing leaks).</summary>
    public static long GrowthOver(int repeats, Action step)
    {
        step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long baseline = Count;
        for (int i = 0; i < repeats; i++) step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Count - baseline;
    }
}
