namespace TuneSharp.Data;

/// <summary>Record formats understood by <see cref="DatasetReader"/>.</summary>
public enum DataFormat
{
    /// <summary>OpenAI chat: <c>{"messages": [{role, content}], "tools"?}</c>.</summary>
    Chat,
    /// <summary>ShareGPT: <c>{"conversations": [{from, value}], "system"?, "tools"?}</c>.</summary>
    ShareGpt,
    /// <summary>Alpaca: <c>{instruction, input?, output, system?, history?}</c>.</summary>
    Alpaca,
    /// <summary>Prompt/completion: <c>{prompt, completion}</c>.</summary>
    Completion,
    /// <summary>Raw text: <c>{text}</c> or a .txt file.</summary>
    Text,
    /// <summary>Preference pairs (chosen/rejected; HH-RLHF, OpenAI DPO, LLaMA-Factory ranking).</summary>
    Preference,
    /// <summary>KTO: prompt + completion + boolean label.</summary>
    Kto,
}

/// <summary>How a .txt file becomes <see cref="TextExample"/>s.</summary>
public enum TextSplit
{
    /// <summary>The whole file is one document.</summary>
    File,
    /// <summary>One document per paragraph (runs of blank lines separate documents).</summary>
    Paragraph,
}

/// <summary>LLaMA-Factory's ShareGPT role tags (dataset_info.json <c>tags</c>). Defaults are the ShareGPT names.</summary>
public sealed record ShareGptTags
{
    public string RoleTag { get; init; } = "from";
    public string ContentTag { get; init; } = "value";
    public string UserTag { get; init; } = "human";
    public string AssistantTag { get; init; } = "gpt";
    public string ObservationTag { get; init; } = "observation";
    public string FunctionTag { get; init; } = "function_call";
    public string SystemTag { get; init; } = "system";

    public static ShareGptTags Default { get; } = new();
}

/// <summary>
/// One dataset: a file or a directory plus how to read it.
/// <see cref="Columns"/> maps a canonical field (e.g. <c>prompt</c>) to the record's field or path (e.g. <c>question</c>,
/// <c>instances[0].output</c>). <see cref="Format"/> forces the record format instead of detecting it per record.
/// </summary>
public sealed record DatasetSpec(string Path)
{
    public DataFormat? Format { get; init; }
    public IReadOnlyDictionary<string, string>? Columns { get; init; }
    public ShareGptTags? Tags { get; init; }
    /// <summary>Sampling weight when mixing (see <see cref="DatasetMixer"/>): 0.5 keeps half, 2 repeats every example twice.</summary>
    public double Weight { get; init; } = 1;
    /// <summary>Read at most this many examples (the first ones, in file order).</summary>
    public int? MaxSamples { get; init; }
    /// <summary>How a .txt file becomes documents.</summary>
    public TextSplit TextSplit { get; init; } = TextSplit.File;
    /// <summary>For a folder: read only the files of this split (train, validation, test, ...; see <see cref="SplitFiles"/>).</summary>
    public string? Split { get; init; }
    /// <summary>Longest JSONL line / JSON array element / text line accepted; longer ones are reported and skipped.</summary>
    public int MaxRecordBytes { get; init; } = 64 << 20;
    /// <summary>Deepest JSON nesting accepted (records nested deeper are reported as <c>nesting_too_deep</c>).</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Parses a format name: openai|chat|messages, sharegpt, alpaca, completion|prompt_completion, text, preference|dpo|ranking, kto.</summary>
    public static DataFormat ParseFormat(string name) => name.Trim().ToLowerInvariant() switch
    {
        "openai" or "chat" or "messages" => DataFormat.Chat,
        "sharegpt" => DataFormat.ShareGpt,
        "alpaca" => DataFormat.Alpaca,
        "completion" or "prompt_completion" => DataFormat.Completion,
        "text" => DataFormat.Text,
        "preference" or "dpo" or "ranking" => DataFormat.Preference,
        "kto" => DataFormat.Kto,
        _ => throw new ArgumentException(
            $"unknown dataset format '{name}'; expected one of openai, sharegpt, alpaca, completion, text, preference, kto"),
    };
}
