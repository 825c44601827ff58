using Xunit;

namespace TuneSharp.Data.Tests;

/// <summary>Small hand-written records for each format variant not covered by a real fixture.</summary>
public sealed class FormatTests
{
    static Example One(string jsonl, DatasetSpec? spec = null, string name = "x.jsonl")
    {
        using var tmp = new TempDir();
        string path = tmp.Write(name, jsonl + "\n");
        return Assert.Single(DatasetReader.Read((spec ?? new DatasetSpec(path)) with { Path = path }).ToList());
    }

    [Fact]
    public void OpenAiDpo_InputPreferredNonPreferred()
    {
        var ex = Assert.IsType<PreferenceExample>(One("""{"input":{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f"}}]},"preferred_output":[{"role":"assistant","content":"good"}],"non_preferred_output":[{"role":"assistant","content":"bad"}]}"""));
        Assert.Equal(("q", "good", "bad"), (ex.Prompt[0].Content, ex.Chosen[0].Content, ex.Rejected[0].Content));
        Assert.Equal("f", ex.Tools![0]!["function"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public void ImplicitPromptLists_SplitAtTheSharedPrefix()
    {
        var ex = Assert.IsType<PreferenceExample>(One("""{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"q"},{"role":"assistant","content":"b"}]}"""));
        Assert.Equal(["q"], ex.Prompt.Select(m => m.Content));
        Assert.Equal(("a", "b"), (ex.Chosen.Single().Content, ex.Rejected.Single().Content));
    }

    [Fact]
    public void PromptStrings_BecomeUserAndAssistantTurns()
    {
        var ex = Assert.IsType<PreferenceExample>(One("""{"prompt":"q","chosen":"a","rejected":"b","system":"s"}"""));
        Assert.Equal([("system", "s"), ("user", "q")], ex.Prompt.Select(m => (m.Role, m.Content)));
        Assert.Equal(("assistant", "a"), (ex.Chosen[0].Role, ex.Chosen[0].Content));
    }

    [Fact]
    public void PairMargin_IsRead_AndANonNumberIsAProblemNamingTheLine()
    {
        var ex = Assert.IsType<PreferenceExample>(One("""{"prompt":"q","chosen":"a","rejected":"b","margin":2.5}"""));
        Assert.Equal(2.5, ex.Margin);
        Assert.Null(Assert.IsType<PreferenceExample>(One("""{"prompt":"q","chosen":"a","rejected":"b"}""")).Margin);

        using var tmp = new TempDir();
        string path = tmp.Write("m.jsonl", "{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\",\"margin\":\"big\"}\n");
        var problems = new List<DataProblem>();
        _ = DatasetReader.Read(new DatasetSpec(path), problems).ToList();
        var problem = Assert.Single(problems);
        Assert.Contains($"{path}:1", problem.ToString());
        Assert.Contains("margin", problem.ToString());
    }

    [Fact]
    public void TrlKto_PromptCompletionLabel()
    {
        var ex = Assert.IsType<KtoExample>(One("""{"prompt":"q","completion":"a","label":false}"""));
        Assert.False(ex.Label);
        Assert.Equal(("user", "assistant"), (ex.Prompt[0].Role, ex.Completion[0].Role));
    }

    [Fact]
    public void Alpaca_SystemAndHistory()
    {
        var ex = Assert.IsType<ChatExample>(One("""{"instruction":"i","input":"","output":"o","system":"s","history":[["u1","a1"]]}"""));
        Assert.Equal([("system", "s"), ("user", "u1"), ("assistant", "a1"), ("user", "i"), ("assistant", "o")], ex.Messages.Select(m => (m.Role, m.Content)));
    }

    [Fact]
    public void ShareGpt_CustomTags_AndSystemField()
    {
        var tags = new ShareGptTags { RoleTag = "speaker", ContentTag = "text", UserTag = "Q", AssistantTag = "A" };
        var ex = Assert.IsType<ChatExample>(One("""{"conversations":[{"speaker":"Q","text":"q"},{"speaker":"A","text":"a"}],"system":"s"}""",
            new DatasetSpec("") { Tags = tags }));
        Assert.Equal([("system", "s"), ("user", "q"), ("assistant", "a")], ex.Messages.Select(m => (m.Role, m.Content)));
    }

    [Fact]
    public void OpenAiChat_TextPartsWeightAndToolCalls()
    {
        var ex = Assert.IsType<ChatExample>(One("""{"messages":[{"role":"developer","content":"d"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"},{"role":"assistant","content":"done","weight":0}]}"""));
        Assert.Equal("ab", ex.Messages[1].Content);
        Assert.Equal(1, ex.Messages[2].ToolCalls![0]!["function"]!["arguments"]!["x"]!.GetValue<int>());
        Assert.Equal("c1", ex.Messages[3].ToolCallId);
        Assert.Equal(0, ex.Messages[4].Weight);
    }

    [Fact]
    public void ForcedFormat_OverridesDetection()
    {
        var ex = One("""{"prompt":"p","completion":"c","text":"t"}""", new DatasetSpec("") { Format = DataFormat.Text });
        Assert.Equal("t", Assert.IsType<TextExample>(ex).Text);
    }

    [Fact]
    public void Directory_ReadsSupportedFilesSorted_IncludingGzJsonAndCsv()
    {
        using var tmp = new TempDir();
        tmp.Write("b/2.json.gz", """[{"text":"two"},{"text":"three"}]""");
        tmp.Write("a.csv", "text\none\n");
        tmp.Write("c.txt", "four\n");
        tmp.Write("README.md", "ignored");
        var texts = DatasetReader.Read(new DatasetSpec(tmp.Path)).Cast<TextExample>().Select(t => t.Text.TrimEnd('\n'));
        Assert.Equal(["one", "two", "three", "four"], texts);
    }

    [Fact]
    public void Detector_ExplainsItsChoice()
    {
        var d = FormatDetector.Detect(new System.Text.Json.Nodes.JsonObject { ["instruction"] = "i", ["output"] = "o" });
        Assert.Equal(DataFormat.Alpaca, d.Format);
        Assert.Equal("detected Alpaca because the record has 'instruction' and 'output'", d.Reason);
    }
}
