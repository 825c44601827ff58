using TuneSharp.Eval.Scoring;
using TuneSharp.Eval.Tasks;
using Xunit;

namespace TuneSharp.Eval.Tests;

/// <summary>The built-in tasks read their files into the harness's prompts.</summary>
public sealed class TaskDataTests
{
    [Fact]
    public void HellaSwag_Preprocess_And_CtxB_Capitalisation()
    {
        Assert.Equal("How to cook. Boil water.", HellaSwag.Preprocess("  How to cook [title] Boil  water.[step]  "));
        Assert.Equal("Roof: A man is on a roof. He", HellaSwag.CapitalizeCtxB("Roof: A man is on a roof. he"));
        Assert.Equal("Roof: The lady", HellaSwag.CapitalizeCtxB("Roof: the lady"));         // no sentence end: all of ctx
        Assert.Equal("Roof: A man. Then Tom", HellaSwag.CapitalizeCtxB("Roof: A man. Then Tom")); // upper case: kept
    }

    [Fact]
    public void HellaSwag_Reads_The_Bz2_Text_File()
    {
        var docs = HellaSwag.Docs(Stories.Data("hellaswag-val/hellaswag_val_full.txt.bz2"));
        Assert.Equal(10042, docs.Count);
        Assert.Equal("Roof shingle removal: A man is sitting on a roof. He", docs[0].Query);
        Assert.Equal(3, docs[0].Gold);
        Assert.Equal("starts pulling up roofing on a roof.", docs[0].Choices[3]);
    }

    [Fact]
    public void LlmFoundry_Files_Become_Harness_Prompts()
    {
        var root = Stories.DataRoot;
        var options = new EvalOptions { DataDir = root };
        var arc = ((MultipleChoiceTask)TaskRegistry.Resolve("arc_easy", options)).Plan(Session(options, 1)).Items[0].Doc;
        Assert.Equal("Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:", arc.Query);
        var piqa = ((MultipleChoiceTask)TaskRegistry.Resolve("piqa", options)).Plan(Session(options, 1)).Items[0].Doc;
        Assert.Equal("Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:", piqa.Query);
        var boolq = ((MultipleChoiceTask)TaskRegistry.Resolve("boolq", options)).Plan(Session(options, 1)).Items[0].Doc;
        Assert.StartsWith("All biomass goes through", boolq.Query);
        Assert.EndsWith("?\nAnswer:", boolq.Query);
        Assert.Equal(["no", "yes"], boolq.Choices);
        var wino = ((MultipleChoiceTask)TaskRegistry.Resolve("winogrande", options)).Plan(Session(options, 1)).Items[0];
        Assert.Equal("Sarah was a much better surgeon than Maria so Sarah", wino.Doc.Choices[0]);
        // Partial scoring: each option's context, then the rest of the sentence after the blank.
        Assert.Equal(("Sarah was a much better surgeon than Maria so Maria", " always got the easier cases."), wino.Doc.Requests("")[1]);
    }

    [Fact]
    public void Mmlu_Prompt_With_Description_And_Dev_Shots()
    {
        var options = new EvalOptions { DataDir = Stories.DataRoot, NumFewshot = 2 };
        var task = (MultipleChoiceTask)TaskRegistry.Resolve("mmlu_anatomy", options);
        var doc = task.Plan(Session(options, 1)).Items[0].Doc;
        Assert.StartsWith("A lesion causing compression of the facial nerve", doc.Query);
        Assert.Contains("\nA. ", doc.Query);
        Assert.EndsWith("\nAnswer:", doc.Query);
        Assert.Equal(["A", "B", "C", "D"], doc.Choices);
        var text = Decode(task.Plan(Session(options, 1)).Items[0].Requests[0].Context);
        Assert.StartsWith("The following are multiple choice questions (with answers) about anatomy.\n\nWhat is the embryological origin of the hyoid bone?", text);
        Assert.Contains("\nAnswer: D\n\nWhich of these branches", text); // dev shot 1 with its answer, then shot 2
    }

    [Fact]
    public void Mmlu_Csv_Quotes_And_Bad_Rows()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string file = Path.Combine(dir, "x.csv");
        File.WriteAllText(file, "\"Q, with \"\"comma\"\"\nand line\",a,b,c,d,B\nQ2,a,b,c,d,E\n");
        var rows = CsvRows.Read(file).ToList();
        Assert.Equal("Q, with \"comma\"\nand line", rows[0].Fields[0]);
        Assert.Equal(3, rows[1].Line);
        var e = Assert.Throws<InvalidDataException>(() => Mmlu.Read(file));
        Assert.Contains("x.csv:3: answer 'E' is not A-D", e.Message);
    }

    [Fact]
    public void TruthfulQa_Puts_True_Answers_First()
    {
        var docs = TruthfulQa.Docs(Stories.Data("truthfulqa-mc/mc_task.json"), "mc2_targets");
        Assert.Equal(817, docs.Count);
        Assert.StartsWith(TruthfulQa.Primer + "\n\nQ: ", docs[0].Query);
        Assert.EndsWith("\n\nQ: What happens if you eat a pomegranate?\nA:", docs[0].Query);
        Assert.Equal(3, docs[0].TrueCount);
        Assert.All(docs, d => Assert.InRange(d.TrueCount!.Value, 1, d.Choices.Count - 1));
    }

    [Fact]
    public void Unknown_Task_And_Missing_Data_Are_Clear_Errors()
    {
        var e = Assert.Throws<ArgumentException>(() => TaskRegistry.Resolve("arc_eazy", new EvalOptions { DataDir = Stories.DataRoot }));
        Assert.Contains("unknown task 'arc_eazy'", e.Message);
        var f = Assert.Throws<FileNotFoundException>(() => TaskRegistry.Resolve("piqa=/nonexistent/piqa.jsonl", new EvalOptions()));
        Assert.Contains("/nonexistent/piqa.jsonl", f.Message);
    }

    static EvalSession Session(EvalOptions options, int limit) => new(Tokenizer.Model.Value, Tokenizer.Tok.Value, [], options with { Limit = limit });

    static string Decode(int[] ids) => Tokenizer.Tok.Value.Decode(ids);
}

/// <summary>The stories260K tokenizer and model shared by tests that only build prompts.</summary>
static class Tokenizer
{
    public static readonly Lazy<TuneSharp.Tokenizers.HfTokenizer> Tok = new(() =>
        TuneSharp.Tokenizers.HfTokenizer.Load(TuneSharp.Testing.Fixtures.Get("models/stories260K-hf")));
    public static readonly Lazy<TuneSharp.Models.CausalLM> Model = new(() =>
        TuneSharp.Models.ModelLoader.Load(TuneSharp.Testing.Fixtures.Get("models/stories260K-hf"), new TuneSharp.Models.ModelLoadOptions()));
}
