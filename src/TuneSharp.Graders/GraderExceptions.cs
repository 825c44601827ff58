namespace TuneSharp.Graders;

/// <summary>A grader definition that cannot be used: unknown type, missing or mistyped field, bad operation or formula.
/// <see cref="Path"/> is the JSON path of the offending key (e.g. <c>graders.accuracy.operation</c>).</summary>
public sealed class GraderDefinitionException(string path, string message)
    : Exception(path.Length == 0 ? message : $"{path}: {message}")
{
    public string Path { get; } = path;
    public string Reason { get; } = message;
}

/// <summary>A template (<c>{{ item.x }}</c>) that cannot be rendered for this item, naming the template and the path.</summary>
public sealed class GraderTemplateException(string message) : Exception(message);

/// <summary>A sample-side failure that the grader reports as an errored result rather than an exception.</summary>
internal sealed class SampleException(string message) : Exception(message);
