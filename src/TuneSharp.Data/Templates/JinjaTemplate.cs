namespace TuneSharp.Data.Templates;

/// <summary>Options for one render.</summary>
public sealed record JinjaRenderOptions
{
    /// <summary>Clock for <c>strftime_now</c> (default: local time now, as transformers does).</summary>
    public Func<DateTime>? Now { get; init; }
    public JinjaLimits Limits { get; init; } = JinjaLimits.Default;
}

/// <summary>
/// A Jinja2 template compiled once (lexer → parser → tree of closures) and rendered many times, with the
/// semantics of transformers' chat-template environment: <c>ImmutableSandboxedEnvironment(trim_blocks=True,
/// lstrip_blocks=True)</c> + loopcontrols, <c>raise_exception</c>, <c>strftime_now</c> and a non-ASCII-keeping <c>tojson</c>.
/// Instances are immutable and safe to render from several threads at once.
/// </summary>
public sealed class JinjaTemplate
{
    readonly Func<RenderState, Flow> _body;

    JinjaTemplate(Func<RenderState, Flow> body, string? name)
    {
        _body = body;
        Name = name;
    }

    /// <summary>Name used in error messages.</summary>
    public string? Name { get; }

    /// <summary>Parses and compiles <paramref name="source"/>; throws <see cref="TemplateSyntaxException"/> with line and column.</summary>
    public static JinjaTemplate Compile(string source, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (body, lexer) = Parser.Parse(source, name);
        return new JinjaTemplate(new Compiler(lexer).CompileBlock(body), name);
    }

    /// <summary>
    /// Renders with the given variables (JsonNode, string, bool, integers, floating point, IList, IDictionary, null).
    /// Throws <see cref="TemplateRaisedException"/> for <c>raise_exception</c> and <see cref="TemplateRuntimeException"/> otherwise.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Render(variables, null);

    /// <inheritdoc cref="Render(IReadOnlyDictionary{string, object?})"/>
    public string Render(IReadOnlyDictionary<string, object?> variables, JinjaRenderOptions? options)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var converted = new Dictionary<string, object?>(variables.Count, StringComparer.Ordinal);
        foreach (var kv in variables) converted[kv.Key] = PyJson.FromClr(kv.Value);
        var state = new RenderState(converted, options?.Limits ?? JinjaLimits.Default, options?.Now ?? (() => DateTime.Now));
        _body(state);
        return state.Out.ToString();
    }
}
