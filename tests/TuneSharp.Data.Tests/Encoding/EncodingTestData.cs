using System.Text.Json.Nodes;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;

namespace TuneSharp.Data.Tests.Encoding;

/// <summary>Real tokenizers and templates (loaded once) and conversations for the encoder tests.</summary>
static class EncodingTestData
{
    static readonly Dictionary<string, Lazy<HfTokenizer>> Tokenizers = new()
    {
        ["qwen3"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/qwen3"))),
        ["llama3"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/llama3"))),
        ["llama2"] = new(() => HfTokenizer.Load(Fixtures.Get("tokenizers/llama2"))),
    };

    public static HfTokenizer Tokenizer(string name)
    {
        Fixtures.Get("tokenizers");  // skips (or fails in CI) without the shared fixtures
        return Tokenizers[name].Value;
    }

    /// <summary>The model's own template from its tokenizer_config.json.</summary>
    public static ChatTemplate OwnTemplate(string name) => ChatTemplate.FromSource(Tokenizer(name).ChatTemplate!, name);

    public static readonly SourceLocation Src = new("test.jsonl", 1);

    public static ChatExample Chat(params (string Role, string Content)[] messages) =>
        new(Src, messages.Select(m => new ChatMessage(m.Role, m.Content)).ToList());

    public static readonly ChatExample ThreeTurns = Chat(
        ("system", "You are terse."),
        ("user", "What is 2+2?"),
        ("assistant", "4."),
        ("user", "And 3 times 3?\nShow work."),
        ("assistant", "3 * 3 = 9.\nSo: 9"),
        ("user", "Say hi in French"),
        ("assistant", "Bonjour, ça va? 🙂 Très bien."));

    public static readonly ChatExample OneTurn = Chat(("user", "Name a colour."), ("assistant", "Blue"));

    /// <summary>Qwen3 with a tool call (no content) answered by a tool, then a final answer.</summary>
    public static ChatExample ToolConversation()
    {
        var call = JsonNode.Parse("""[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]""")!.AsArray();
        var tools = JsonNode.Parse("""[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""")!.AsArray();
        return new ChatExample(Src,
        [
            new ChatMessage("user", "Weather in Paris?"),
            new ChatMessage("assistant", "") { ToolCalls = call },
            new ChatMessage("tool", "{\"temp\": 21}") { ToolCallId = "c1" },
            new ChatMessage("assistant", "It is 21 degrees."),
        ], tools);
    }

    /// <summary>The trained tokens as maximal contiguous runs (each assistant turn is one run).</summary>
    public static List<int[]> TrainedRuns(TokenizedSample s)
    {
        var runs = new List<int[]>();
        for (int t = 0; t < s.Length;)
        {
            if (!s.Trained[t]) { t++; continue; }
            int start = t;
            while (t < s.Length && s.Trained[t]) t++;
            runs.Add(s.InputIds[start..t]);
        }
        return runs;
    }

    public static List<string> DecodedRuns(HfTokenizer tok, TokenizedSample s) =>
        TrainedRuns(s).Select(r => tok.Decode(r)).ToList();
}
