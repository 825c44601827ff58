namespace TuneSharp.Eval.Tasks;

/// <summary>
/// ARC, PIQA, BoolQ and WinoGrande from llm-foundry's converted files (<c>{query, choices, gold}</c>; WinoGrande
/// <c>{context_options, continuation, gold}</c>), turned back into the prompts of lm-evaluation-harness's task YAMLs.
/// </summary>
public static class LlmFoundryTasks
{
    /// <summary>arc_easy / arc_challenge: "Question: {question}\nAnswer:" and the choice texts; acc and acc_norm.</summary>
    public static MultipleChoiceTask Arc(string name, string path) =>
        Make(name, path, q => Expect(q, "Question: ", path) + "\nAnswer:", [McMetric.Acc, McMetric.AccNorm]);

    /// <summary>piqa: "Question: {goal}\nAnswer:" (the file's query is "Question: {goal}\n"); acc and acc_norm.</summary>
    public static MultipleChoiceTask Piqa(string path) =>
        Make("piqa", path, q => Expect(q, "Question: ", path).TrimEnd('\n') + "\nAnswer:", [McMetric.Acc, McMetric.AccNorm]);

    /// <summary>boolq: "{passage}\nQuestion: {question}?\nAnswer:" with choices no/yes (the file prefixes "Passage: "); acc.</summary>
    public static MultipleChoiceTask BoolQ(string path) =>
        Make("boolq", path, q => Strip(Expect(q, "Passage: ", path), "Passage: ") + "\nAnswer:", [McMetric.Acc]);

    /// <summary>
    /// winogrande: partial scoring. Each option fills the blank and forms a context (sentence up to the blank + option);
    /// the rest of the sentence after the blank is the continuation, scored after each context; acc.
    /// </summary>
    public static MultipleChoiceTask Winogrande(string path) => new("winogrande", () => WinograndeDocs(path), [McMetric.Acc])
    {
        Definition = Def(path, "partial: contexts = sentence[:blank] + option, continuation = sentence[blank+1:].strip()"),
    };

    static MultipleChoiceTask Make(string name, string path, Func<string, string> prompt, IReadOnlyList<McMetric> metrics) =>
        new(name, () => Docs(path, prompt), metrics) { Definition = Def(path, null) };

    static Dictionary<string, object?> Def(string path, string? note) => new()
    {
        ["dataset_path"] = path,
        ["doc_to_text_note"] = note,
    };

    static IReadOnlyList<McDoc> Docs(string path, Func<string, string> prompt) =>
        JsonLines.Read(path).Select((row, i) =>
        {
            var choices = row.Strings("choices", path, i);
            int gold = row.Int("gold", path, i);
            if (gold < 0 || gold >= choices.Count) throw new InvalidDataException($"{path}:{i + 1}: gold {gold} is not a choice index");
            return new McDoc(prompt(row.Str("query", path, i)), choices, gold);
        }).ToList();

    static IReadOnlyList<McDoc> WinograndeDocs(string path) =>
        JsonLines.Read(path).Select((row, i) =>
            new McDoc(row.Str("continuation", path, i), row.Strings("context_options", path, i), row.Int("gold", path, i))
            { ChoicesAreContexts = true }).ToList();

    static string Expect(string query, string start, string path) =>
        query.StartsWith(start, StringComparison.Ordinal) ? query
            : throw new InvalidDataException($"{path}: a query does not start with '{start}' (not llm-foundry's schema?)");

    static string Strip(string s, string start) => s[start.Length..];
}
