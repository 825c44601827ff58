using System.Globalization;

namespace TuneSharp.Bench;

/// <summary>Command-line getters of a benchmark program: <c>--name value</c> pairs, invariant culture.</summary>
public sealed class BenchArgs(string[] args)
{
    /// <summary>The value after <paramref name="name"/>, or null when the flag is absent or last.</summary>
    public string? String(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The integer after <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public int Int(string name, int fallback) => String(name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The number after <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public double Double(string name, double fallback) => String(name) is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : fallback;
}
