using System.Runtime.InteropServices;
using TorchSharp;

namespace TuneSharp.Core.Native;

/// <summary>
/// Process-wide native setup that must happen before the first tensor: allocator configuration, the libstdc++ fallback
/// fix and the thread count. Every entry point (CLI, server, tests) calls <see cref="Initialize"/> first.
/// </summary>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static RuntimeStatus? _status;

    /// <summary>What <see cref="Initialize"/> did, for `tunesharp env` and diagnostics.</summary>
    public static RuntimeStatus Status => _status ?? Initialize();

    /// <summary>Idempotent. Configures malloc, patches libLibTorchSharp.so if needed and possible, and loads libtorch.</summary>
    public static RuntimeStatus Initialize()
    {
        lock (Gate)
        {
            if (_status != null) return _status;
            var allocator = Allocator.Configure();
            var fix = ApplyNativeFixIfNeeded();
            torch.InitializeDeviceType(DeviceType.CPU);
            _status = new RuntimeStatus(allocator, fix, torch.get_num_threads());
            return _status;
        }
    }

    /// <summary>Directory that holds libLibTorchSharp.so for this process (flat or RID-specific layout), or null.</summary>
    public static string? FindLibTorchSharp()
    {
        string baseDir = AppContext.BaseDirectory;
        string rid = RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm64", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64";
        foreach (var candidate in new[]
                 {
                     Path.Combine(baseDir, ElfSymbolVersions.LibTorchSharpFile),
                     Path.Combine(baseDir, "runtimes", rid, "native", ElfSymbolVersions.LibTorchSharpFile),
                 })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    /// <summary>
    /// The build patches its outputs; this covers a package built on another machine (e.g. `dotnet tool install`).
    /// It must run before TorchSharp loads its native backend.
    /// </summary>
    static NativeFixStatus ApplyNativeFixIfNeeded()
    {
        if (!OperatingSystem.IsLinux()) return NativeFixStatus.NotLinux;
        bool systemLacks;
        try { systemLacks = ElfSymbolVersions.SystemLacksVersion(); }
        catch (Exception) { return NativeFixStatus.Unknown; }
        if (!systemLacks) return NativeFixStatus.NotNeeded;
        string? lib = FindLibTorchSharp();
        if (lib == null) return NativeFixStatus.LibraryNotFound;
        if (!ElfSymbolVersions.HasStrongRequirement(lib)) return NativeFixStatus.Applied;
        try
        {
            ElfSymbolVersions.MakeRequirementWeak(lib);
            return NativeFixStatus.AppliedAtStartup;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"{lib} requires {ElfSymbolVersions.MissingVersion}, which this system's libstdc++ lacks, and the file " +
                $"cannot be patched ({e.Message}). Rebuild TuneSharp on this machine or make the file writable once.", e);
        }
    }
}

public enum NativeFixStatus
{
    /// <summary>Not Linux: nothing to do.</summary>
    NotLinux,
    /// <summary>The system libstdc++ defines GLIBCXX_3.4.32.</summary>
    NotNeeded,
    /// <summary>The library in the output was already patched (by the build).</summary>
    Applied,
    /// <summary>The library was patched by this process before loading.</summary>
    AppliedAtStartup,
    LibraryNotFound,
    Unknown,
}

public sealed record RuntimeStatus(AllocatorStatus Allocator, NativeFixStatus NativeFix, int Threads);
