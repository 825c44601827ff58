namespace TuneSharp.Export.Ollama;

/// <summary>One chat message as Ollama's chat API takes it.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>
/// The prompt text Ollama builds for a chat request from a Modelfile's TEMPLATE and SYSTEM, following its server code:
/// the SYSTEM text is prepended as a system message when the request does not start with one; consecutive messages of
/// the same role (except tool) are merged with a blank line; the template runs over <c>.Messages</c> with
/// <c>.System</c> = every system message joined by a blank line, <c>.Tools</c> empty, <c>.Response</c> "". Only templates
/// over <c>.Messages</c> are evaluated (Ollama's legacy <c>.Prompt</c>/<c>.Response</c> mode is not).
/// </summary>
public static class OllamaPrompt
{
    public static string Render(GoTemplate template, IReadOnlyList<ChatTurn> messages, string? modelfileSystem)
    {
        if (!template.Identifiers().Contains("messages"))
            throw new GoTemplateException("only templates over .Messages are evaluated (not Ollama's legacy .Prompt mode)");
        var turns = messages.ToList();
        if (!string.IsNullOrEmpty(modelfileSystem) && turns.Count > 0 && turns[0].Role != "system")
            turns.Insert(0, new ChatTurn("system", modelfileSystem));

        var system = new List<string>();
        var collated = new List<ChatTurn>();
        foreach (var t in turns)
        {
            if (t.Role == "system") system.Add(t.Content);
            if (collated.Count > 0 && collated[^1].Role == t.Role && t.Role != "tool")
                collated[^1] = collated[^1] with { Content = collated[^1].Content + "\n\n" + t.Content };
            else collated.Add(t);
        }
        var data = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["System"] = string.Join("\n\n", system),
            ["Messages"] = collated.Select(Message).ToList(),
            ["Tools"] = new List<object?>(),
            ["Response"] = "",
            ["Think"] = false,
            ["IsThinkSet"] = false,
            ["Query"] = "",
            ["Document"] = "",
            ["Instruction"] = "",
        };
        return template.Execute(data);
    }

    /// <summary>An api.Message as templates see it (the fields a plain text chat message has).</summary>
    static object? Message(ChatTurn t) => new GoStruct("*api.Message", new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["Role"] = t.Role,
        ["Content"] = t.Content,
        ["Thinking"] = "",
        ["Images"] = new List<object?>(),
        ["ToolCalls"] = new List<object?>(),
        ["ToolName"] = "",
    });
}
