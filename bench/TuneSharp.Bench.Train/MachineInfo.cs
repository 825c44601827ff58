using System.Text.RegularExpressions;
using TuneSharp.Core.Native;

namespace TuneSharp.Bench.Train;

/// <summary>What the numbers were measured on (LoadAverage: 1/5/15-minute load when the run started: other work on the machine).</summary>
public sealed record MachineInfo(string Cpu, int Cores, bool Avx512Bf16, double RamGiB, string TorchSharp, string LibTorch,
    string PyTorch, int Threads, string Os, string LoadAverage)
{
    public static MachineInfo Collect(int threads, string pytorchVersion)
    {
        string cpuinfo = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        string cpu = Regex.Match(cpuinfo, @"^model name\s*:\s*(.+)$", RegexOptions.Multiline).Groups[1].Value.Trim();
        string mem = File.Exists("/proc/meminfo") ? File.ReadAllText("/proc/meminfo") : "";
        var kb = Regex.Match(mem, @"^MemTotal:\s*(\d+) kB", RegexOptions.Multiline);
        double ram = kb.Success ? long.Parse(kb.Groups[1].Value) / 1024.0 / 1024.0 : 0;
        var tsVersion = typeof(TorchSharp.torch).Assembly.GetName().Version;
        string ts = tsVersion is null ? "unknown" : $"{tsVersion.Major}.{tsVersion.Minor}.{tsVersion.Build}";
        // TorchSharp does not expose the libtorch version; each TorchSharp release bundles exactly one.
        string libtorch = ts.StartsWith("0.107.", StringComparison.Ordinal) ? "2.10.0" : "unknown (see the TorchSharp release notes)";
        return new MachineInfo(cpu.Length > 0 ? cpu : "unknown", Environment.ProcessorCount, CpuFeatures.Has("avx512_bf16"),
            Math.Round(ram, 1), ts, libtorch, pytorchVersion, threads, System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown");
    }
}
