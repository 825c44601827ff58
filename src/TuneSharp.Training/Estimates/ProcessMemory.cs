using System.Globalization;
using System.Runtime.InteropServices;

namespace TuneSharp.Training.Estimates;

/// <summary>
/// Resident memory of this process from <c>/proc/self/status</c> (Linux): current (VmRSS) and peak (VmHWM) RSS,
/// resetting the peak, and returning freed native heap to the OS. Elsewhere every reading is null.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size in bytes (VmRSS), or null where unsupported.</summary>
    public static long? CurrentRssBytes() => ReadStatusBytes("VmRSS:");

    /// <summary>Peak resident set size in bytes since start or the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public static long? PeakRssBytes() => ReadStatusBytes("VmHWM:");

    /// <summary>Resets the peak RSS to the current RSS (<c>/proc/self/clear_refs</c> "5"); false where not allowed.</summary>
    public static bool ResetPeak()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Asks glibc to give freed heap pages back to the OS (<c>malloc_trim(0)</c>), so RSS reflects live data.</summary>
    public static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = malloc_trim(0); }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl)
    }

    /// <summary>
    /// Peak RSS growth in bytes while <paramref name="action"/> runs: the native heap is trimmed and the peak reset
    /// first, then VmHWM after minus VmRSS before. Null where unsupported. Other threads' allocations count too.
    /// </summary>
    public static long? MeasurePeakGrowth(Action action)
    {
        TrimNativeHeap();
        if (!ResetPeak() || CurrentRssBytes() is not { } before)
        {
            action();
            return null;
        }
        action();
        return PeakRssBytes() - before;
    }

    static long? ReadStatusBytes(string key)
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
            var value = line.AsSpan(key.Length).Trim();
            if (!value.EndsWith("kB", StringComparison.Ordinal))
                throw new InvalidDataException($"/proc/self/status: '{line}' is not in kB");
            return long.Parse(value[..^2].Trim(), CultureInfo.InvariantCulture) * 1024;
        }
        return null;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);
}
