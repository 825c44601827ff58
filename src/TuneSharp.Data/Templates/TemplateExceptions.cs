namespace TuneSharp.Data.Templates;

/// <summary>A template source that does not parse. Carries the template name and the 1-based line and column.</summary>
public sealed class TemplateSyntaxException : Exception
{
    public TemplateSyntaxException(string message, string? templateName, int line, int column)
        : base($"{templateName ?? "<template>"}:{line}:{column}: {message}")
    {
        TemplateName = templateName;
        Line = line;
        Column = column;
        Reason = message;
    }

    /// <summary>Name given to <see cref="JinjaTemplate.Compile"/>, if any.</summary>
    public string? TemplateName { get; }
    /// <summary>1-based line of the offending token.</summary>
    public int Line { get; }
    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; }
    /// <summary>The message without the location prefix.</summary>
    public string Reason { get; }
}

/// <summary>Thrown when a template calls <c>raise_exception(msg)</c>; <see cref="Exception.Message"/> is <c>msg</c>.</summary>
public sealed class TemplateRaisedException : Exception
{
    public TemplateRaisedException(string message) : base(message) { }
}

/// <summary>
/// Any other error while rendering: undefined attribute access, type errors (e.g. <c>'a' + 1</c>), unsafe calls
/// blocked by the sandbox, and the resource limits (loop iterations, macro recursion, output size).
/// </summary>
public sealed class TemplateRuntimeException : Exception
{
    public TemplateRuntimeException(string message, string? templateName = null, int line = 0)
        : base(line > 0 ? $"{templateName ?? "<template>"}:{line}: {message}" : message)
    {
        Reason = message;
        TemplateName = templateName;
        Line = line;
    }

    /// <summary>The message without the location prefix (matches Jinja2's message where the error has one).</summary>
    public string Reason { get; }
    public string? TemplateName { get; }
    /// <summary>1-based line of the template statement being rendered (0 when unknown).</summary>
    public int Line { get; }
}
