using System.Reflection;
using System.Text;

namespace TuneSharp.Training.Config;

/// <summary>Overrides the YAML spelling of an enum member (default: the member name in snake_case).</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ConfigNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>YAML spellings of config enums and the did-you-mean helper.</summary>
public static class ConfigNames
{
    /// <summary>The YAML spelling of an enum value, e.g. <c>CosineWithMinLr</c> -> <c>cosine_with_min_lr</c>.</summary>
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum => Of((object)value);

    /// <summary>The YAML spelling of a boxed enum value.</summary>
    public static string Of(object value) => Table(value.GetType()).First(e => e.Value.Equals(value)).Name;

    /// <summary>All YAML spellings of an enum, in declaration order.</summary>
    public static IReadOnlyList<string> All<TEnum>() where TEnum : struct, Enum => All(typeof(TEnum));

    /// <summary>All YAML spellings of an enum type, in declaration order.</summary>
    public static IReadOnlyList<string> All(Type enumType) => [.. Table(enumType).Select(e => e.Name)];

    /// <summary>Parses a YAML spelling case-insensitively.</summary>
    public static bool TryParse<TEnum>(string text, out TEnum value) where TEnum : struct, Enum
    {
        bool ok = TryParse(typeof(TEnum), text, out object? v);
        value = ok ? (TEnum)v! : default;
        return ok;
    }

    /// <summary>Parses a YAML spelling of <paramref name="enumType"/> case-insensitively.</summary>
    public static bool TryParse(Type enumType, string text, out object? value)
    {
        foreach (var (v, name) in Table(enumType))
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase)) { value = v; return true; }
        value = null;
        return false;
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, (object Value, string Name)[]> Tables = new();

    static (object Value, string Name)[] Table(Type enumType) => Tables.GetOrAdd(enumType, t =>
    [
        .. t.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (f.GetValue(null)!, f.GetCustomAttribute<ConfigNameAttribute>()?.Name ?? SnakeCase(f.Name))),
    ]);

    /// <summary><c>LastAssistant</c> -> <c>last_assistant</c>, <c>Bf16</c> -> <c>bf16</c>.</summary>
    public static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]))) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The candidate closest to <paramref name="word"/> by optimal-string-alignment (Damerau-Levenshtein) distance,
    /// ignoring case, if it is close enough to be a plausible typo (at most max(1, min(3, len/3)) edits); otherwise null.
    /// </summary>
    public static string? Suggest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string c in candidates)
        {
            int d = Distance(word.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        int limit = Math.Max(1, Math.Min(3, word.Length / 3));
        return bestDistance <= limit ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                // adjacent transposition "ab" <-> "ba"
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        return d[a.Length, b.Length];
    }
}
