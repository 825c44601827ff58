namespace TuneSharp.Data.Contamination;

/// <summary>All the text an example would put in front of a model, joined by newlines: every message's content and
/// tool-call arguments, the prompt and completion(s), or the raw text.</summary>
public static class ExampleText
{
    public static string Of(Example example) => example switch
    {
        ChatExample c => Join(c.Messages),
        CompletionExample c => c.Prompt + "\n" + c.Completion,
        TextExample t => t.Text,
        PreferenceExample p => Join([.. p.Prompt, .. p.Chosen, .. p.Rejected]),
        KtoExample k => Join([.. k.Prompt, .. k.Completion]),
        _ => throw new ArgumentOutOfRangeException(nameof(example), example.GetType().Name, "unknown example type"),
    };

    static string Join(IEnumerable<ChatMessage> messages) =>
        string.Join('\n', messages.SelectMany(m => new[] { m.Content, m.ToolCalls?.ToJsonString() }).OfType<string>());
}
