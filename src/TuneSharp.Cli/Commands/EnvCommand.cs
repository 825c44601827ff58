using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TuneSharp.Core.Native;

namespace TuneSharp.Cli.Commands;

/// <summary>`tunesharp env`: versions, threads, CPU features, libtorch and native-fix status, allocator.</summary>
public static class EnvCommand
{
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("env", "Print the runtime environment (versions, CPU, libtorch, native fix, allocator).");
        cmd.SetAction(_ =>
        {
            var status = TorchRuntime.Initialize();
            foreach (var (key, value) in Describe(status))
                stdout.WriteLine($"- {key}: {value}");
            return 0;
        });
        return cmd;
    }

    public static IEnumerable<(string Key, string Value)> Describe(RuntimeStatus status)
    {
        yield return ("TuneSharp", Version());
        yield return (".NET", RuntimeInformation.FrameworkDescription);
        yield return ("OS", $"{RuntimeInformation.OSDescription} ({RuntimeInformation.RuntimeIdentifier})");
        yield return ("TorchSharp", typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?");
        yield return ("libtorch", TorchSharp.torch.__version__);
        yield return ("libtorch path", TorchRuntime.FindLibTorchSharp() ?? "not found");
        yield return ("CPU cores", Environment.ProcessorCount.ToString());
        yield return ("torch threads", status.Threads.ToString());
        yield return ("CPU features", string.Join(" ", Features()));
        yield return ("CUDA available", TorchSharp.torch.cuda.is_available().ToString());
        yield return ("native fix (GLIBCXX_3.4.32)", status.NativeFix switch
        {
            NativeFixStatus.NotLinux => "not needed (not Linux)",
            NativeFixStatus.NotNeeded => "not needed (system libstdc++ has GLIBCXX_3.4.32)",
            NativeFixStatus.Applied => "applied (requirement marked weak in the build output)",
            NativeFixStatus.AppliedAtStartup => "applied at startup (the installed library was patched in place)",
            NativeFixStatus.LibraryNotFound => "libLibTorchSharp.so not found next to the application",
            _ => "unknown",
        });
        yield return ("allocator", status.Allocator.Description);
    }

    /// <summary>
    /// "0.1.0 (commit 1a2b...)": the informational version the SDK writes at build time, which carries the git commit of
    /// the checkout after a '+' (SourceRevisionId, from source control); a build outside git has no commit.
    /// </summary>
    public static string Version()
    {
        string info = typeof(EnvCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        int plus = info.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? $"{info} (commit unknown: built outside a git checkout)" : $"{info[..plus]} (commit {info[(plus + 1)..]})";
    }

    static IEnumerable<string> Features()
    {
        if (Avx2.IsSupported) yield return "avx2";
        if (Fma.IsSupported) yield return "fma";
        if (Avx512F.IsSupported) yield return "avx512f";
        if (Avx512BW.IsSupported) yield return "avx512bw";
        if (AvxVnni.IsSupported) yield return "avx-vnni";
        foreach (var f in new[] { "avx512_bf16", "avx512_vnni", "amx_bf16" })
            if (CpuFeatures.Has(f)) yield return f;
    }
}
