using System.Diagnostics.CodeAnalysis;

namespace TuneSharp.Training.Config;

/// <summary>One problem found in a configuration: where it is (file or override, line, column) and which key.</summary>
public sealed record ConfigError(string Source, int? Line, int? Column, string? Key, string Message)
{
    /// <summary>Compiler-style text: <c>config.yaml:12:5: message</c> (or <c>source: message</c> without a position).</summary>
    public override string ToString() =>
        Line is int l ? $"{Source}:{l}:{Column ?? 1}: {Message}" : $"{Source}: {Message}";
}

/// <summary>
/// An invalid configuration. The position properties describe the first error; <see cref="Errors"/> lists all of them
/// (binding reports every unknown key and type error at once; semantic checks run once the config binds).
/// </summary>
public sealed class ConfigException : Exception
{
    string _source;

    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
    {
        if (errors.Count == 0) throw new ArgumentException("at least one error is required", nameof(errors));
        Errors = errors;
        _source = errors[0].Source;
    }

    public ConfigException(ConfigError error) : this([error]) { }

    /// <summary>The file name (or <c>override 'k=v'</c>) of the first error.</summary>
    [AllowNull]
    public override string Source { get => _source; set => _source = value ?? ""; }

    /// <summary>1-based line of the first error, when it comes from the YAML file.</summary>
    public int? Line => Errors[0].Line;

    /// <summary>1-based column of the first error, when it comes from the YAML file.</summary>
    public int? Column => Errors[0].Column;

    /// <summary>Full key path of the first error, e.g. <c>train.max_steps</c> or <c>data.datasets[0].path</c>.</summary>
    public string? Key => Errors[0].Key;

    /// <summary>Every error found, file errors in document order first.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }
}
