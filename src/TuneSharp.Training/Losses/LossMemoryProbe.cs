using TorchSharp;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses;

/// <summary>
/// Peak-memory measurement of the loss for benchmarks (not used by tests: RSS depends on the allocator).
/// Linux only: resets the process's peak RSS (<c>/proc/self/clear_refs</c> "5") and reads <c>VmHWM</c>.
/// </summary>
public static class LossMemoryProbe
{
    /// <summary>Peak resident memory above the starting RSS while <paramref name="action"/> runs; null where unsupported.</summary>
    public static long? PeakRssGrowth(Action action)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        long before = ReadStatusKb("VmRSS:");
        action();
        return (ReadStatusKb("VmHWM:") - before) * 1024;
    }

    /// <summary>
    /// Forward + backward of <see cref="CausalLmLoss.Compute"/> and of <see cref="CausalLmLoss.Reference"/> on random
    /// inputs of the given size; returns each one's peak RSS growth in bytes. Full fp32 logits alone are B*T*V*4 bytes.
    /// </summary>
    public static (long? Chunked, long? Reference) Compare(int batch, int seqLen, int hidden, int vocab,
        ScalarType dtype = ScalarType.BFloat16, int? chunkRows = null)
    {
        using var scope = torch.NewDisposeScope();
        var h = torch.randn(batch, seqLen, hidden).to(dtype).requires_grad_(true);   // [B, T, H]
        var w = (torch.randn(vocab, hidden) * 0.02).to(dtype).requires_grad_(true);  // [V, H]
        var labels = torch.randint(0, vocab, [batch, seqLen], dtype: ScalarType.Int64);
        long? Run(Func<LossSum> loss) => PeakRssGrowth(() =>
        {
            using var inner = torch.NewDisposeScope();
            loss().SumLoss.backward();
            h.grad = null;
            w.grad = null;
        });
        return (Run(() => CausalLmLoss.Compute(h, w, labels, chunkRows)), Run(() => CausalLmLoss.Reference(h, w, labels)));
    }

    static long ReadStatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        throw new InvalidDataException($"/proc/self/status: no '{key}' line");
    }
}
