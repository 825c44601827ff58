namespace TuneSharp.Bench;

/// <summary>Small statistics helpers.</summary>
public static class Stats
{
    /// <summary>Median (the mean of the two middle values for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        if (s.Length == 0) throw new ArgumentException("median of no values", nameof(values));
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
