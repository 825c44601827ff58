using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data.Safety;

/// <summary>One tool call of a conversation: the message it is in, its position among that message's calls, name and arguments.</summary>
public sealed record ToolCallView(int MessageIndex, int CallIndex, string Name, JsonObject Arguments)
{
    /// <summary>The arguments as compact JSON.</summary>
    public string ArgumentsJson { get; } = Arguments.ToJsonString(Relaxed);

    /// <summary><c>name({...})</c>, as excerpts show a call.</summary>
    public string Text => $"{Name}({ArgumentsJson})";

    static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Every string (and number) leaf of the arguments, depth first, with its key.</summary>
    public IReadOnlyList<(string Key, string Value)> Values { get; } = Leaves(Arguments, "").ToList();

    static IEnumerable<(string, string)> Leaves(JsonNode? node, string key) => node switch
    {
        JsonObject o => o.SelectMany(kv => Leaves(kv.Value, kv.Key)),
        JsonArray a => a.SelectMany(v => Leaves(v, key)),
        JsonValue v when v.TryGetValue<string>(out var s) => [(key, s)],
        JsonValue v => [(key, v.ToJsonString())],
        _ => [],
    };
}

/// <summary>A tool the example declares in its <c>tools</c>: name, description and its parameters as JSON.</summary>
public sealed record DeclaredTool(string Name, string Description, string Parameters);

/// <summary>
/// An example as the safety rules read it: its messages in order (a preference pair as prompt, chosen, rejected; KTO as
/// prompt, completion; a completion example as user + assistant; raw text as one <c>text</c> message), every tool call,
/// and the declared tools. Message indexes in findings count in this order.
/// </summary>
public sealed class Conversation
{
    public Example Example { get; }
    public IReadOnlyList<ChatMessage> Messages { get; }
    public IReadOnlyList<ToolCallView> Calls { get; }
    /// <summary>Declared tools by name; null when the example has no <c>tools</c>.</summary>
    public IReadOnlyDictionary<string, DeclaredTool>? Tools { get; }

    public Conversation(Example example)
    {
        Example = example;
        (Messages, var tools) = example switch
        {
            ChatExample c => (c.Messages, c.Tools),
            PreferenceExample p => ([.. p.Prompt, .. p.Chosen, .. p.Rejected], p.Tools),
            KtoExample k => ([.. k.Prompt, .. k.Completion], k.Tools),
            CompletionExample c => ([new ChatMessage("user", c.Prompt), new ChatMessage("assistant", c.Completion)], null),
            TextExample t => (new ChatMessage[] { new("text", t.Text) }, (JsonArray?)null),
            _ => throw new NotSupportedException($"{example.Source}: {example.GetType().Name} cannot be scanned"),
        };
        Calls = [.. Messages.SelectMany((m, i) => m.ToolCalls is { } calls ? CallsOf(i, calls) : [])];
        Tools = tools is null ? null : Declared(tools);
    }

    static IEnumerable<ToolCallView> CallsOf(int message, JsonArray calls) =>
        calls.Select((c, k) => c?["function"] is JsonObject fn && fn["name"]?.GetValue<string>() is { } name
            ? new ToolCallView(message, k, name, fn["arguments"] as JsonObject ?? [])
            : null).OfType<ToolCallView>();

    static Dictionary<string, DeclaredTool> Declared(JsonArray tools)
    {
        var result = new Dictionary<string, DeclaredTool>(StringComparer.Ordinal);
        foreach (var t in tools)
            if ((t?["function"] ?? t) is JsonObject fn && fn["name"] is JsonValue n && n.TryGetValue<string>(out var name))
                result[name] = new DeclaredTool(name, fn["description"] is JsonValue d && d.TryGetValue<string>(out var s) ? s : "",
                    fn["parameters"]?.ToJsonString() ?? "");
        return result;
    }

    /// <summary>The text of the turns of <paramref name="roles"/> before message <paramref name="before"/> (all when null), one per line.</summary>
    public string TextOf(IReadOnlyCollection<string> roles, int? before = null)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < (before ?? Messages.Count); i++)
            if (roles.Contains(Messages[i].Role) && Messages[i].Content is { } c) sb.Append(c).Append('\n');
        return sb.ToString();
    }

    public static readonly string[] UserRoles = ["user", "text"];
    /// <summary>What a call may legitimately take its values from: the user, the system prompt and earlier tool results.</summary>
    public static readonly string[] ContextRoles = ["user", "text", "system", "developer", "tool"];
}
