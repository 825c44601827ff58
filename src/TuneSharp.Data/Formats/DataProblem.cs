namespace TuneSharp.Data;

/// <summary>
/// One problem found in a dataset file. <see cref="Code"/> is one of <see cref="ProblemCodes"/>; <see cref="Field"/> is a
/// path inside the record such as <c>messages[2].content</c> (null for file-level problems); <see cref="Hint"/> is a one-line fix.
/// </summary>
public sealed record DataProblem(SourceLocation Location, string Code, string? Field, string Message, string Hint)
{
    /// <summary>Text line where the record starts when <see cref="SourceLocation.Line"/> is a record index (JSON arrays).</summary>
    public long? TextLine { get; init; }

    public override string ToString()
    {
        string where = TextLine is long l ? $"{Location.File}:{l} (record {Location.Line})" : Location.ToString();
        string field = Field is null ? "" : $" [{Field}]";
        return $"{where}: {Code}{field}: {Message}. {Hint}";
    }
}

/// <summary>Thrown by <see cref="DatasetReader"/> on the first problem when the caller did not ask to collect problems.</summary>
public sealed class DataFormatException(DataProblem problem) : IOException(problem.ToString())
{
    public DataProblem Problem { get; } = problem;
}

/// <summary>Validation codes (OpenAI fine-tuning style where OpenAI has one).</summary>
public static class ProblemCodes
{
    public const string InvalidJson = "invalid_json";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string MissingMessages = "missing_messages";
    public const string UnrecognizedRole = "unrecognized_role";
    public const string MissingContent = "missing_content";
    public const string MissingAssistantMessage = "example_missing_assistant_message";
    public const string WrongType = "wrong_type";
    public const string EmptyCompletion = "empty_completion";
    public const string InvalidWeight = "invalid_weight";
    public const string UnknownFormat = "unknown_format";
    public const string TooLong = "too_long";
    public const string LineTooLong = "line_too_long";
    public const string NestingTooDeep = "nesting_too_deep";
    public const string RaggedRow = "ragged_row";
    public const string UnexpectedColumnType = "unexpected_column_type";
    public const string EmptyFile = "empty_file";
    public const string TruncatedGzip = "truncated_gzip";
    public const string InvalidToolCall = "invalid_tool_call";
    public const string UnsupportedContentPart = "unsupported_content_part";
    public const string MissingField = "missing_field";
    public const string InvalidLabel = "invalid_label";
    public const string UnsupportedFile = "unsupported_file";
    public const string InvalidCsv = "invalid_csv";
    public const string InvalidParquet = "invalid_parquet";
}
