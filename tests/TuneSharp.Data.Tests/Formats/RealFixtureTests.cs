using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests;

/// <summary>Every real dataset fixture reads without problems; counts and spot values were taken with Python's json module.</summary>
public sealed class RealFixtureTests
{
    static (List<Example> Examples, List<DataProblem> Problems) ReadAll(DatasetSpec spec)
    {
        var problems = new List<DataProblem>();
        var examples = DatasetReader.Read(spec, problems).ToList();
        return (examples, problems);
    }

    static string Lf(string file) => Fixtures.Get("datasets/llamafactory-demo/" + file);

    [Theory]
    [InlineData("datasets/llamafactory-demo/alpaca_en_demo.json", 999)]
    [InlineData("datasets/llamafactory-demo/identity.json", 91)]
    [InlineData("datasets/llamafactory-demo/dpo_en_demo.json", 300)]
    [InlineData("datasets/llamafactory-demo/kto_en_demo.json", 300)]
    [InlineData("datasets/llamafactory-demo/glaive_toolcall_en_demo.json", 300)]
    [InlineData("datasets/fastchat-sharegpt-mtbench/dummy_conversation.json", 500)]
    [InlineData("datasets/gsm8k/train.jsonl", 7473)]
    public void Fixture_ReadsEveryRecord_WithoutProblems(string relative, int expected)
    {
        var spec = new DatasetSpec(Fixtures.Get(relative));
        if (relative.Contains("gsm8k")) spec = spec with { Columns = new Dictionary<string, string> { ["prompt"] = "question", ["completion"] = "answer" } };
        var (examples, problems) = ReadAll(spec);
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(5)));
        Assert.Equal(expected, examples.Count);
    }

    [Fact]
    public void Alpaca_JoinsInstructionAndInput_LikeLlamaFactory()
    {
        var examples = ReadAll(new DatasetSpec(Lf("alpaca_en_demo.json"))).Examples;
        var ex = Assert.IsType<ChatExample>(examples[5]);
        Assert.Equal(["user", "assistant"], ex.Messages.Select(m => m.Role));
        Assert.StartsWith("Given the parameters of a triangle, find", ex.Messages[0].Content);
        Assert.Contains("\nSide 1 = 4\nSide 2 = 6\nSide 3 = 8", ex.Messages[0].Content);
        Assert.Equal(6, ex.Source.Line);   // 1-based record index of a JSON array
    }

    [Fact]
    public void Identity_KeepsPlaceholdersVerbatim()
    {
        var ex = Assert.IsType<ChatExample>(ReadAll(new DatasetSpec(Lf("identity.json"))).Examples[0]);
        Assert.Equal("hi", ex.Messages[0].Content);
        Assert.Equal("Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?", ex.Messages[1].Content);
    }

    [Fact]
    public void Glaive_FunctionCallAndObservation_BecomeToolMessages()
    {
        var ex = Assert.IsType<ChatExample>(ReadAll(new DatasetSpec(Lf("glaive_toolcall_en_demo.json"))).Examples[0]);
        Assert.Equal(8, ex.Messages.Count);
        Assert.Equal(["user", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant"], ex.Messages.Select(m => m.Role));
        var call = ex.Messages[3].ToolCalls!.Single()!["function"]!;
        Assert.Equal("search_recipes", call["name"]!.GetValue<string>());
        Assert.Equal("rice", call["arguments"]!["ingredients"]![2]!.GetValue<string>());
        Assert.Null(ex.Messages[3].Content);
        Assert.Equal("search_recipes", ex.Tools!.Single()!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("function", ex.Tools![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void ShareGpt_FastChat_MapsHumanAndGpt()
    {
        var ex = Assert.IsType<ChatExample>(ReadAll(new DatasetSpec(Fixtures.Get("datasets/fastchat-sharegpt-mtbench/dummy_conversation.json"))).Examples[0]);
        Assert.Equal(["user", "assistant", "user", "assistant"], ex.Messages.Select(m => m.Role));
        Assert.Equal("You too!", ex.Messages[3].Content);
    }

    [Fact]
    public void Dpo_LlamaFactory_SystemTurnAndChosenObject()
    {
        var examples = ReadAll(new DatasetSpec(Lf("dpo_en_demo.json"))).Examples;
        var ex = Assert.IsType<PreferenceExample>(examples[1]);
        Assert.Equal(["system", "user"], ex.Prompt.Select(m => m.Role));
        Assert.StartsWith("You are a teacher. Given a task, you explain in si", ex.Prompt[0].Content);
        Assert.Equal("assistant", Assert.Single(ex.Chosen).Role);
        Assert.Equal("assistant", Assert.Single(ex.Rejected).Role);
    }

    [Fact]
    public void Kto_LlamaFactory_LastMessageIsTheCompletion()
    {
        var examples = ReadAll(new DatasetSpec(Lf("kto_en_demo.json"))).Examples.Cast<KtoExample>().ToList();
        Assert.True(examples[0].Label);
        Assert.StartsWith("Ooh ooh ah ah! *giggle* Let me think...", examples[0].Completion.Single().Content);
        Assert.Equal("user", examples[0].Prompt[^1].Role);
        Assert.Equal(150, examples.Count(e => e.Label));
    }

    [Fact]
    public void HhRlhf_FourRecordsWithEmptyChosenAnswer_AreReported()
    {
        // Python: 4 of the 2,312 records end their chosen transcript with an empty "Assistant:" turn.
        var (examples, problems) = ReadAll(new DatasetSpec(Fixtures.Get("datasets/hh-rlhf-harmless-base-test/test.jsonl.gz")));
        Assert.Equal(2312 - 4, examples.Count);
        Assert.Equal([87L, 517, 926, 1104], problems.Select(p => p.Location.Line));
        Assert.All(problems, p => Assert.Equal((ProblemCodes.EmptyCompletion, "chosen"), (p.Code, p.Field)));
    }

    [Fact]
    public void HhRlhf_TranscriptsSplitIntoPromptAndFinalAnswers()
    {
        var ex = Assert.IsType<PreferenceExample>(ReadAll(new DatasetSpec(Fixtures.Get("datasets/hh-rlhf-harmless-base-test/test.jsonl.gz"))).Examples[0]);
        Assert.Equal(["user", "assistant", "user", "assistant", "user"], ex.Prompt.Select(m => m.Role));
        Assert.Equal("what are some pranks with a pen i can do?", ex.Prompt[0].Content);
        Assert.StartsWith("No, sorry!  All of these involve a pen, the point is that yo", Assert.Single(ex.Chosen).Content);
        Assert.StartsWith("There are lots of funny things you can do with pens, here’s ", Assert.Single(ex.Rejected).Content);
    }

    [Fact]
    public void Gsm8k_ColumnMapping_GivesCompletions()
    {
        var spec = new DatasetSpec(Fixtures.Get("datasets/gsm8k/train.jsonl"))
        {
            Columns = new Dictionary<string, string> { ["prompt"] = "question", ["completion"] = "answer" },
            MaxSamples = 3,
        };
        var examples = ReadAll(spec).Examples.Cast<CompletionExample>().ToList();
        Assert.Equal(3, examples.Count);
        Assert.StartsWith("Natalia sold clips to 48 of her friends in April", examples[0].Prompt);
        Assert.EndsWith("#### 72", examples[0].Completion);
    }

    [Fact]
    public void SelfInstruct_PathColumns_ReachIntoInstances()
    {
        var spec = new DatasetSpec(Fixtures.Get("datasets/self-instruct"))
        {
            Columns = new Dictionary<string, string> { ["instruction"] = "instruction", ["input"] = "instances[0].input", ["output"] = "instances[0].output" },
        };
        var (examples, problems) = ReadAll(spec);
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(5)));
        Assert.Equal(175 + 252, examples.Count);   // directory: seed_tasks.jsonl then user_oriented_instructions.jsonl
        Assert.EndsWith("seed_tasks.jsonl", examples[0].Source.File);
        Assert.StartsWith("Yes, you can have 1 oatmeal banana protein shake", ((ChatExample)examples[0]).Messages[1].Content);
    }

    [Fact]
    public void TinyShakespeare_WholeFileOrParagraphs()
    {
        string path = Fixtures.Get("datasets/tinyshakespeare/input.txt");
        var whole = Assert.Single(DatasetReader.Read(new DatasetSpec(path)));
        Assert.StartsWith("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:", ((TextExample)whole).Text);
        var paragraphs = DatasetReader.Read(new DatasetSpec(path) { TextSplit = TextSplit.Paragraph }).Cast<TextExample>().ToList();
        Assert.Equal("All:\nSpeak, speak.", paragraphs[1].Text);
        Assert.Equal(4, paragraphs[1].Source.Line);
        // Independent count: paragraphs = runs of non-blank lines.
        var lines = File.ReadAllLines(path);
        int expected = lines.Where((l, i) => l.Trim().Length > 0 && (i == 0 || lines[i - 1].Trim().Length == 0)).Count();
        Assert.Equal(expected, paragraphs.Count);
    }

    [Fact]
    public void DatasetInfo_EntriesBecomeSpecs()
    {
        using var tmp = new TempDir();
        string info = tmp.Write("dataset_info.json", $$$"""
            {
              "dpo": {"file_name": "{{{Lf("dpo_en_demo.json")}}}", "formatting": "sharegpt", "ranking": true,
                      "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
              "kto": {"file_name": "{{{Lf("kto_en_demo.json")}}}", "formatting": "sharegpt",
                      "columns": {"messages": "messages", "kto_tag": "label"},
                      "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
              "alpaca": {"file_name": "{{{Lf("alpaca_en_demo.json")}}}", "columns": {"prompt": "instruction", "query": "input", "response": "output"}},
              "hub": {"hf_hub_url": "x/y"}
            }
            """);
        Assert.Equal(300, ReadAll(DatasetInfo.Load(info, "dpo")).Examples.OfType<PreferenceExample>().Count());
        var kto = DatasetInfo.Load(info, "kto");
        Assert.Equal(DataFormat.Kto, kto.Format);
        Assert.Equal(300, ReadAll(kto).Examples.OfType<KtoExample>().Count());
        Assert.Equal(999, ReadAll(DatasetInfo.Load(info, "alpaca")).Examples.Count);
        Assert.Contains("hf_hub_url", Assert.Throws<NotSupportedException>(() => DatasetInfo.Load(info, "hub")).Message);
    }
}
