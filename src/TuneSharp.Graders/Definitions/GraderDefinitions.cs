using System.Text.Json.Nodes;

namespace TuneSharp.Graders.Definitions;

/// <summary>
/// A grader definition in OpenAI's wire shape, read by <see cref="GraderDefinitionReader"/>. Template fields
/// (<c>input</c>, <c>reference</c>, message contents) keep their <c>{{ }}</c> text; <see cref="GraderFactory"/> compiles them.
/// </summary>
public abstract record GraderDefinition
{
    /// <summary><c>name</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The wire <c>type</c> (<c>string_check</c>, <c>text_similarity</c>, ...).</summary>
    public abstract string Type { get; }
}

public enum StringCheckOperation { Eq, Ne, Like, Ilike }

/// <summary><c>string_check</c>: compare <c>input</c> with <c>reference</c>; 1 when the operation holds, else 0.</summary>
public sealed record StringCheckDefinition : GraderDefinition
{
    public override string Type => "string_check";
    public required string Input { get; init; }
    public required string Reference { get; init; }
    public required StringCheckOperation Operation { get; init; }
}

public enum SimilarityMetric { FuzzyMatch, Bleu, Gleu, Meteor, Rouge1, Rouge2, Rouge3, Rouge4, Rouge5, RougeL, Cosine, Exact }

/// <summary><c>text_similarity</c>: a similarity metric in [0, 1]; passed when it reaches <c>pass_threshold</c>.</summary>
public sealed record TextSimilarityDefinition : GraderDefinition
{
    public override string Type => "text_similarity";
    public required string Input { get; init; }
    public required string Reference { get; init; }
    public required SimilarityMetric Metric { get; init; }
    public double? PassThreshold { get; init; }
}

/// <summary>One message of a score_model prompt; <see cref="Content"/> is a template.</summary>
public sealed record PromptMessage(string Role, string Content);

/// <summary>score_model's <c>sampling_params</c> (all optional; unset ones are not sent).</summary>
public sealed record SamplingParams
{
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public long? Seed { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public string? ReasoningEffort { get; init; }
}

/// <summary><c>score_model</c>: a chat model reads the rendered messages and replies with a score in <c>range</c>.</summary>
public sealed record ScoreModelDefinition : GraderDefinition
{
    public override string Type => "score_model";
    public required string Model { get; init; }
    public required IReadOnlyList<PromptMessage> Input { get; init; }
    public double RangeMin { get; init; }
    public double RangeMax { get; init; } = 1;
    public SamplingParams Sampling { get; init; } = new();
    public double? PassThreshold { get; init; }
}

/// <summary><c>multi</c>: named sub-graders combined by the <c>calculate_output</c> formula.</summary>
public sealed record MultiDefinition : GraderDefinition
{
    public override string Type => "multi";
    public required IReadOnlyDictionary<string, GraderDefinition> Graders { get; init; }
    public required string CalculateOutput { get; init; }
}

public enum RegexMatchMode { Search, Full }

/// <summary><c>regex</c> (TuneSharp): 1 when <c>pattern</c> matches the rendered <c>input</c>.</summary>
public sealed record RegexDefinition : GraderDefinition
{
    public override string Type => "regex";
    public required string Input { get; init; }
    public required string Pattern { get; init; }
    public string Flags { get; init; } = "";
    public RegexMatchMode Match { get; init; } = RegexMatchMode.Search;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary><c>json_schema</c> (TuneSharp): 1 when the rendered <c>input</c> parses as JSON and validates against <c>schema</c>.</summary>
public sealed record JsonSchemaDefinition : GraderDefinition
{
    public override string Type => "json_schema";
    public required string Input { get; init; }
    public required JsonObject Schema { get; init; }
}

public enum NumberExtraction { Last, First, Gsm8k, Boxed, Strict }

/// <summary><c>numeric</c> (TuneSharp): extract a number from <c>input</c>, compare with <c>reference</c> within tolerance.</summary>
public sealed record NumericDefinition : GraderDefinition
{
    public override string Type => "numeric";
    public required string Input { get; init; }
    public required string Reference { get; init; }
    public NumberExtraction Extract { get; init; } = NumberExtraction.Last;
    public double AbsoluteTolerance { get; init; }
    public double RelativeTolerance { get; init; }
}
