using TuneSharp.Core.Hub;

namespace TuneSharp.Cli;

/// <summary>Renders hub download progress on stderr: a live line on a terminal, a line per file otherwise.</summary>
public sealed class DownloadProgressPrinter(TextWriter stderr, bool live) : IProgress<DownloadProgress>
{
    string? _current;
    DateTime _last;

    public static DownloadProgressPrinter For(TextWriter stderr) =>
        new(stderr, ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);

    public void Report(DownloadProgress p)
    {
        bool done = p.TotalBytes is { } total && p.BytesDone >= total;
        if (!live)
        {
            if (done) stderr.WriteLine($"downloaded {p.File} ({Mb(p.BytesDone)})");
            return;
        }
        if (p.File != _current) { _current = p.File; _last = default; }
        if (!done && (DateTime.UtcNow - _last).TotalMilliseconds < 100) return;
        _last = DateTime.UtcNow;
        string of = p.TotalBytes is { } t ? $" / {Mb(t)}" : "";
        stderr.Write($"\rdownloading {p.File}: {Mb(p.BytesDone)}{of}   ");
        if (done) stderr.WriteLine();
    }

    static string Mb(long bytes) => $"{bytes / 1048576.0:F1} MB";
}
