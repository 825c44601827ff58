using System.Runtime.InteropServices;

namespace TuneSharp.Core.Native;

/// <summary>
/// glibc malloc tuning. With the default thresholds, every large activation buffer libtorch frees is returned to the OS
/// (mmap'd chunks are unmapped, the heap top is trimmed) and page-faulted back on the next step: training ran 1.9-2.9x
/// slower on the development machine (12 us per 4 KiB fault). Disabling mmap for large blocks and heap trimming keeps
/// freed buffers in the process for reuse. See docs/performance.md.
/// </summary>
public static partial class Allocator
{
    const int MTrimThreshold = -1;
    const int MMmapMax = -4;

    /// <summary>Set TUNESHARP_MALLOC=default to keep glibc's defaults (for measurements).</summary>
    public const string EnvironmentVariable = "TUNESHARP_MALLOC";

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    public static AllocatorStatus Configure()
    {
        if (!OperatingSystem.IsLinux()) return new AllocatorStatus(false, "platform default (not glibc)");
        if (string.Equals(Environment.GetEnvironmentVariable(EnvironmentVariable), "default", StringComparison.OrdinalIgnoreCase))
            return new AllocatorStatus(false, $"glibc defaults ({EnvironmentVariable}=default)");
        try
        {
            bool ok = Mallopt(MMmapMax, 0) == 1 & Mallopt(MTrimThreshold, int.MaxValue) == 1;
            return ok
                ? new AllocatorStatus(true, "glibc mallopt M_MMAP_MAX=0, M_TRIM_THRESHOLD=INT_MAX (freed buffers are reused, not returned to the OS)")
                : new AllocatorStatus(false, "glibc mallopt refused the settings");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return new AllocatorStatus(false, "not glibc (mallopt unavailable): " + e.Message);
        }
    }
}

public sealed record AllocatorStatus(bool Tuned, string Description);
