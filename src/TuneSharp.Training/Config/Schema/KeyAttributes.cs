using System.Globalization;
using System.Text.RegularExpressions;

namespace TuneSharp.Training.Config;

// A config key is declared once, on its record property: [Key("name")] with its checks and an example value. Binding,
// the resolved YAML, the per-key range checks and the every-key tests are all derived from these declarations
// (ConfigSchema). Checks that involve two keys are explicit rules in ConfigValidator.

/// <summary>
/// The YAML key of a config record property. The type decides the conversion (int, float, bool, string, enum,
/// <see cref="ValueList{T}"/>, <see cref="ValueMap{T}"/>); the property initializer is the default.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class KeyAttribute(string name) : Attribute
{
    public string Name { get; } = name;
    /// <summary>The key must be present and non-null (no default).</summary>
    public bool Required { get; init; }
    /// <summary>A file-system path: resolved against the YAML file's folder (the current directory for an override).</summary>
    public bool IsPath { get; init; }
    /// <summary>A <see cref="KeyType"/> subclass for values the property type alone does not describe.</summary>
    public Type? Type { get; init; }
    /// <summary>A valid non-default YAML value; the every-key tests bind it and expect the config to change.</summary>
    public string? Example { get; init; }
    /// <summary>Overrides the example needs to be valid (<c>a.b=v</c>, separated by <c>;</c>), e.g. <c>optimizer.name=sgd</c>.</summary>
    public string? ExampleWith { get; init; }
}

/// <summary>A nested section (a record whose properties are keys).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SectionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
    /// <summary>
    /// A bool property of the parent record: the section is used (validated and written) only when it is true, e.g.
    /// <c>method.lora</c> only for adapter methods.
    /// </summary>
    public string? UsedWhen { get; init; }
}

/// <summary>
/// The settings section of one <c>method.stage</c> (named after the stage, e.g. <c>method.sft</c>). A key of another
/// stage's section is an error naming the stage it belongs to; only the current stage's section is written.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class StageSectionAttribute(Stage stage) : Attribute
{
    public Stage Stage { get; } = stage;
}

/// <summary>A check on one value (on each item of a list, on each value of a map), reported at the key.</summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = true)]
public abstract class CheckAttribute : Attribute
{
    /// <summary>The error for <paramref name="value"/> at <paramref name="key"/>, or null when it is fine.</summary>
    public abstract string? Check(object value, string key);

    /// <summary>True when the check applies to the names of a map (patterns) rather than its values.</summary>
    public virtual bool OnMapNames => false;

    protected static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    protected static double D(object v) => Convert.ToDouble(v, CultureInfo.InvariantCulture);
}

/// <summary>value &gt;= min.</summary>
public sealed class MinAttribute(double min) : CheckAttribute
{
    public override string? Check(object value, string key) =>
        D(value) >= min ? null : $"'{key}' must be >= {F(min)}, found {F(D(value))}";
}

/// <summary>value &gt; 0.</summary>
public sealed class PositiveAttribute : CheckAttribute
{
    public override string? Check(object value, string key) =>
        D(value) > 0 ? null : $"'{key}' must be > 0, found {F(D(value))}";
}

/// <summary>value in [lo, hi) by default; <see cref="HiInclusive"/> / <see cref="LoExclusive"/> change the ends.</summary>
public sealed class RangeAttribute(double lo, double hi) : CheckAttribute
{
    public bool HiInclusive { get; init; }
    public bool LoExclusive { get; init; }

    public override string? Check(object value, string key)
    {
        double v = D(value);
        bool ok = (LoExclusive ? v > lo : v >= lo) && (HiInclusive ? v <= hi : v < hi);
        return ok ? null : $"'{key}' must be in {(LoExclusive ? "(" : "[")}{F(lo)}, {F(hi)}{(HiInclusive ? "]" : ")")}, found {F(v)}";
    }
}

/// <summary>One of a few integers, e.g. quantisation bits.</summary>
public sealed class OneOfAttribute(string meaning, params int[] values) : CheckAttribute
{
    public override string? Check(object value, string key) =>
        values.Contains((int)value) ? null : $"'{key}' must be {meaning}, found {value}";
}

/// <summary>A positive power of two.</summary>
public sealed class PowerOfTwoAttribute : CheckAttribute
{
    public override string? Check(object value, string key) =>
        value is int v && v > 0 && (v & (v - 1)) == 0 ? null : $"'{key}' must be a positive power of two, found {value}";
}

/// <summary>A non-empty string.</summary>
public sealed class NotEmptyAttribute : CheckAttribute
{
    public override string? Check(object value, string key) => ((string)value).Length > 0 ? null : $"'{key}' is empty";
}

/// <summary>A valid .NET regular expression (on a map: each name).</summary>
public sealed class RegexAttribute : CheckAttribute
{
    public override bool OnMapNames => true;

    public override string? Check(object value, string key)
    {
        try
        {
            _ = new Regex((string)value);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"'{key}' is not a valid regular expression: {e.Message}";
        }
    }
}
