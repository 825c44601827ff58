using System.Globalization;

namespace TuneSharp.Training.Observers;

/// <summary>Human-readable numbers for the console (invariant culture, compact).</summary>
public static class Fmt
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>45s, 3m12s, 1h02m, 2d03h. Negative or non-finite values print as "?".</summary>
    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        long s = (long)Math.Round(seconds);
        if (s < 60) return $"{s}s";
        if (s < 3600) return $"{s / 60}m{s % 60:00}s";
        if (s < 86400) return $"{s / 3600}h{s % 3600 / 60:00}m";
        return $"{s / 86400}d{s % 86400 / 3600:00}h";
    }

    /// <summary>Bytes in binary units: 512 B, 1.5 KiB, 12.3 MiB, 1.23 GiB.</summary>
    public static string Bytes(double bytes)
    {
        if (!double.IsFinite(bytes)) return "?";
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int u = 0;
        double v = bytes;
        while (Math.Abs(v) >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{v.ToString("0", Inv)} B" : $"{v.ToString(v >= 100 ? "0" : v >= 10 ? "0.0" : "0.00", Inv)} {units[u]}";
    }

    /// <summary>Thousands separators: 1,234,567.</summary>
    public static string Count(long n) => n.ToString("#,0", Inv);

    /// <summary>Loss-like values with 4 decimals; "nan"/"inf" for non-finite.</summary>
    public static string Loss(double v) => Fixed(v, "0.0000");

    /// <summary>Learning rates in scientific notation: 1.2e-04.</summary>
    public static string Lr(double v) => double.IsFinite(v) ? v.ToString("0.0e-00", Inv) : NonFinite(v);

    /// <summary>A fixed format, or "nan"/"inf".</summary>
    public static string Fixed(double v, string format) => double.IsFinite(v) ? v.ToString(format, Inv) : NonFinite(v);

    /// <summary>Relative difference of measured vs estimated: "+12%", "-3%".</summary>
    public static string Delta(double measured, double estimated) =>
        estimated > 0 && double.IsFinite(measured) ? ((measured / estimated - 1) * 100).ToString("+0;-0;0", Inv) + "%" : "?";

    static string NonFinite(double v) => double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
}
