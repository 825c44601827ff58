using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>The format of one record and the reason it was chosen (quoted in error messages).</summary>
public sealed record FormatDetection(DataFormat? Format, string Reason);

/// <summary>
/// Detects a record's format from its keys (after column mapping). Rules, first match wins:
/// <c>input</c>+<c>preferred_output</c> → preference (OpenAI DPO); <c>label</c> → kto; <c>chosen</c>+<c>rejected</c> → preference;
/// <c>messages</c> → chat; <c>conversations</c> → sharegpt; <c>instruction</c>+<c>output</c> → alpaca;
/// <c>prompt</c>+<c>completion</c> → completion; <c>text</c> → text.
/// </summary>
public static class FormatDetector
{
    static readonly (DataFormat Format, string[] Keys, string Name)[] Rules =
    [
        (DataFormat.Preference, ["input", "preferred_output"], "OpenAI DPO"),
        (DataFormat.Kto, ["label"], "KTO"),
        (DataFormat.Preference, ["chosen", "rejected"], "preference"),
        (DataFormat.Chat, ["messages"], "OpenAI chat"),
        (DataFormat.ShareGpt, ["conversations"], "ShareGPT"),
        (DataFormat.Alpaca, ["instruction", "output"], "Alpaca"),
        (DataFormat.Completion, ["prompt", "completion"], "prompt/completion"),
        (DataFormat.Text, ["text"], "raw text"),
    ];

    public static FormatDetection Detect(JsonObject record)
    {
        foreach (var (format, keys, name) in Rules)
            if (keys.All(record.ContainsKey))
                return new(format, $"detected {name} because the record has {string.Join(" and ", keys.Select(k => $"'{k}'"))}");
        string have = record.Count == 0 ? "no keys" : "keys " + string.Join(", ", record.Select(p => $"'{p.Key}'").Take(8));
        return new(null, $"record has {have}; none of: 'messages' (chat), 'conversations' (sharegpt), 'instruction'+'output' (alpaca), " +
            "'prompt'+'completion', 'text', 'chosen'+'rejected' (preference), 'label' (kto), 'input'+'preferred_output' (OpenAI DPO)");
    }
}
