using System.Collections;
using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Config;

/// <summary>How one key's YAML value converts to its property and back. Bad values are reported and replaced by the fallback.</summary>
internal abstract class KeyType
{
    /// <summary>Converts a present value node of <paramref name="key"/> (its full path).</summary>
    public abstract object? Read(BindContext ctx, string key, YamlNode node, object? fallback);

    /// <summary>The value as a YAML scalar or flow collection.</summary>
    public abstract string Write(object? value);

    /// <summary>The record type of each item, for lists of sections (<c>data.datasets</c>).</summary>
    public virtual Type? ItemRecord => null;

    /// <summary>Writes <c>key: value</c> (or a block) at the writer's indentation.</summary>
    public virtual void WriteTo(ConfigWriter w, string key, object? value) => w.Line(key, Write(value));

    protected static void TypeError(BindContext ctx, YamlNode node, string key, string what) =>
        ctx.Error(node, key, $"'{key}' must be {what}, found {YamlScalars.Describe(node)}");
}

/// <summary>A scalar conversion: what it expects (for messages), the parser and the writer.</summary>
internal sealed record Scalar(string What, Func<YamlNode, (bool Ok, object? Value)> Parse, Func<object, string> Format)
{
    public static readonly Scalar Int = new("an integer", n => (YamlScalars.TryInt(n, out int v), v), v => YamlText.Int((int)v));
    public static readonly Scalar Double = new("a number", n => (YamlScalars.TryDouble(n, out double v), v), v => YamlText.Num((double)v));
    public static readonly Scalar Bool = new("true or false", n => (YamlScalars.TryBool(n, out bool v), v), v => YamlText.Bool((bool)v));
    public static readonly Scalar String = new("a string", n => (YamlScalars.TryString(n, out string v), v), v => YamlText.Str((string)v));

    public static Scalar For(Type t) =>
        t == typeof(int) ? Int : t == typeof(double) ? Double : t == typeof(bool) ? Bool : t == typeof(string) ? String
        : throw new NotSupportedException($"no config conversion for {t.Name}");
}

/// <summary>Chooses the <see cref="KeyType"/> of a property from its type (or <see cref="KeyAttribute.Type"/>).</summary>
internal static class KeyTypes
{
    public static KeyType For(PropertyInfo p, KeyAttribute k)
    {
        if (k.Type != null) return (KeyType)Activator.CreateInstance(k.Type)!;
        var t = p.PropertyType;
        bool nullable = new NullabilityInfoContext().Create(p).WriteState == NullabilityState.Nullable;
        if (t == typeof(string)) return new ScalarKey(Scalar.String, nullable, k.IsPath);
        if (Nullable.GetUnderlyingType(t) is Type u) return ScalarOrEnum(u, true);
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ValueList<>)) return new ListKey(t.GetGenericArguments()[0], nullable);
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ValueMap<>)) return new MapKey(t.GetGenericArguments()[0]);
        return ScalarOrEnum(t, false);

        KeyType ScalarOrEnum(Type s, bool orNull) => s.IsEnum ? new EnumKey(s, orNull) : new ScalarKey(Scalar.For(s), orNull, false);
    }
}

/// <summary>int, float, bool or string (nullable with <c>?</c>; a path resolved against the config's folder).</summary>
internal sealed class ScalarKey(Scalar scalar, bool nullable, bool isPath) : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (nullable && YamlScalars.IsNull(node)) return null;
        var (ok, v) = scalar.Parse(node);
        if (!ok)
        {
            TypeError(ctx, node, key, nullable && scalar == Scalar.String ? "a string or null" : scalar.What);
            return fallback;
        }
        return isPath ? ConfigPaths.Resolve(ctx.BaseDirOf(node), (string)v!) : v;
    }

    public override string Write(object? value) => value is null ? "null" : scalar.Format(value);
}

/// <summary>An enum by its snake_case spelling, case-insensitive, with did-you-mean.</summary>
internal sealed class EnumKey(Type enumType, bool nullable) : KeyType
{
    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (nullable && YamlScalars.IsNull(node)) return null;
        if (YamlScalars.TryString(node, out string text) && ConfigNames.TryParse(enumType, text, out object? v)) return v;
        var names = ConfigNames.All(enumType);
        string hint = YamlScalars.TryString(node, out string t) && ConfigNames.Suggest(t, names) is string near ? $" (did you mean '{near}'?)" : "";
        ctx.Error(node, key, $"'{key}' must be one of {string.Join(", ", names)}; found {YamlScalars.Describe(node)}{hint}");
        return fallback;
    }

    public override string Write(object? value) => value is null ? "null" : ConfigNames.Of(value);
}

/// <summary>A YAML list of scalars (or null when the property is nullable); item errors name <c>key[i]</c>.</summary>
internal sealed class ListKey(Type item, bool nullable = false) : KeyType
{
    readonly Scalar _item = Scalar.For(item);

    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (nullable && YamlScalars.IsNull(node)) return null;
        if (node is not YamlSequenceNode seq)
        {
            ctx.Error(node, key, $"'{key}' must be a list of {_item.What}s{(nullable ? " or null" : "")}, found {YamlScalars.Describe(node)}");
            return fallback;
        }
        var items = new List<object?>();
        for (int i = 0; i < seq.Children.Count; i++)
        {
            var (ok, v) = _item.Parse(seq.Children[i]);
            if (ok) items.Add(v);
            else TypeError(ctx, seq.Children[i], $"{key}[{i}]", _item.What);
        }
        return ValueCollections.List(item, items);
    }

    public override string Write(object? value) => value is null ? "null" : YamlText.Flow(((IEnumerable)value).Cast<object>().Select(_item.Format));
}

/// <summary>A mapping of free-form names (patterns) to scalars, in document order.</summary>
internal sealed class MapKey(Type item) : KeyType
{
    readonly Scalar _item = Scalar.For(item);

    public override object? Read(BindContext ctx, string key, YamlNode node, object? fallback)
    {
        if (node is not YamlMappingNode map)
        {
            TypeError(ctx, node, key, "a mapping of names to " + _item.What + "s");
            return fallback;
        }
        var items = new List<KeyValuePair<string, object?>>();
        foreach (var (k, v) in map.Children)
        {
            if (!YamlScalars.TryString(k, out string name)) { TypeError(ctx, k, key, "a mapping with string keys"); continue; }
            var (ok, value) = _item.Parse(v);
            if (ok) items.Add(new(name, value));
            else TypeError(ctx, v, $"{key}.{name}", _item.What);
        }
        return ValueCollections.Map(item, items);
    }

    public override string Write(object? value) =>
        YamlText.FlowMap(((IValueMap)value!).Entries.Select(kv => (kv.Key, _item.Format(kv.Value!))));
}

/// <summary>Formatting of YAML scalars and flow collections that read back to the same value.</summary>
internal static class YamlText
{
    public static string Bool(bool b) => b ? "true" : "false";
    public static string Int(int? v) => v is int i ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null";

    /// <summary>Shortest round-trip form, always recognisable as a float (1 -> 1.0, 1E-08 -> 1.0e-08).</summary>
    public static string Num(double? v)
    {
        if (v is not double d) return "null";
        // "1E-08" -> "1.0e-08": a dot in the mantissa keeps YAML 1.1 readers (PyYAML) seeing a float too.
        string[] parts = d.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Split('E');
        string mantissa = parts[0].Contains('.') ? parts[0] : parts[0] + ".0";
        return parts.Length == 2 ? mantissa + "e" + parts[1] : mantissa;
    }

    public static string Flow(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";

    public static string FlowMap(IEnumerable<(string Key, string Value)> items) =>
        "{" + string.Join(", ", items.Select(kv => $"{Str(kv.Key)}: {kv.Value}")) + "}";

    public static string StrOrNull(string? s) => s is null ? "null" : Str(s);

    /// <summary>A string scalar: plain when it cannot be mistaken for anything else, otherwise double-quoted.</summary>
    public static string Str(string s)
    {
        bool plain = s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] is '_' or '/' or '.') &&
                     s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or '@' or '+') &&
                     !YamlScalars.LooksNumeric(s) && s.ToLowerInvariant() is not ("null" or "true" or "false");
        if (plain) return s;
        var sb = new System.Text.StringBuilder("\"");
        foreach (char c in s)
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return sb.Append('"').ToString();
    }
}
