using System.Diagnostics;
using System.Reflection;

namespace TuneSharp.Bench;

/// <summary>
/// Re-launches the running benchmark program as a child process (one fresh process per measurement, so process-wide
/// state such as mallopt settings and the peak RSS belongs to that measurement alone). Standard error is inherited.
/// </summary>
public static class ChildProcess
{
    /// <summary>A start info for this program with <paramref name="args"/> (the entry dll first when the host is <c>dotnet</c>).</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, Assembly.GetEntryAssembly()!.GetName().Name + ".dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs this program with <paramref name="args"/> and returns its standard output; throws when it fails.</summary>
    public static string Run(params string[] args) => Run(StartInfo(args));

    /// <summary>Runs <paramref name="psi"/> and returns its standard output; throws with exit code and output when it fails.</summary>
    public static string Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw Failed(psi, p.ExitCode, output);
        return output;
    }

    /// <summary>The last line of the output of <see cref="Run(string[])"/>.</summary>
    public static string RunLastLine(params string[] args) => Run(args).Trim().Split('\n')[^1];

    /// <summary>Runs this program with <paramref name="args"/>, yielding standard output line by line as it comes; throws at the end when it failed.</summary>
    public static IEnumerable<string> Lines(params string[] args)
    {
        var psi = StartInfo(args);
        using var p = Process.Start(psi)!;
        while (p.StandardOutput.ReadLine() is { } line) yield return line;
        p.WaitForExit();
        if (p.ExitCode != 0) throw Failed(psi, p.ExitCode, "");
    }

    static InvalidOperationException Failed(ProcessStartInfo psi, int exitCode, string output) =>
        new($"child '{string.Join(' ', psi.ArgumentList)}' failed with exit code {exitCode}: {output}");
}
