namespace TuneSharp.Eval;

/// <summary>Settings of one evaluation run (the CLI's flags; a training run can build the same record).</summary>
public sealed record EvalOptions
{
    /// <summary>Only the first N items of each task (lm-evaluation-harness's --limit as a count).</summary>
    public int? Limit { get; init; }
    /// <summary>Few-shot examples per item; null = each task's default (e.g. 5 for mmlu and gsm8k, 0 for arc).</summary>
    public int? NumFewshot { get; init; }
    /// <summary>Rows per forward (choices of an item, perplexity windows) and prompts per generation batch.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Prepend the tokenizer's special tokens (BOS) to every encoded text (the harness's add_bos_token).</summary>
    public bool AddBos { get; init; }
    /// <summary>Where the built-in tasks' data folders are (see <see cref="EvalData"/>); null = the default search.</summary>
    public string? DataDir { get; init; }
    /// <summary>Longest model input; null = the model's max_position_embeddings.</summary>
    public int? MaxLength { get; init; }
    /// <summary>Most generated tokens per item in generation tasks (the harness's max_gen_toks, 256).</summary>
    public int MaxGenTokens { get; init; } = 256;
    /// <summary>Graders a custom task may name with <c>grader:</c> (the extension point for a graders library).</summary>
    public IReadOnlyDictionary<string, IAnswerGrader> Graders { get; init; } = new Dictionary<string, IAnswerGrader>();
    /// <summary>Checked between items: a cancelled run stops with <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken Cancellation { get; init; }

    public void Validate()
    {
        if (Limit is < 1) throw new ArgumentOutOfRangeException(nameof(Limit), Limit, "--limit must be >= 1");
        if (NumFewshot is < 0) throw new ArgumentOutOfRangeException(nameof(NumFewshot), NumFewshot, "--num-fewshot must be >= 0");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "--batch-size must be >= 1");
        if (MaxGenTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxGenTokens), MaxGenTokens, "must be >= 1");
    }
}

/// <summary>
/// Scores a generated answer against a reference (1 = right, 0 = wrong, or a fraction). Custom tasks name one with
/// <c>grader: NAME</c>; <see cref="EvalOptions.Graders"/> maps names to implementations (a graders library plugs in here).
/// </summary>
public interface IAnswerGrader
{
    double Grade(string response, string reference, IReadOnlyDictionary<string, object?> doc);
}
