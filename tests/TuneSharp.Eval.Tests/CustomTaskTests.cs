using TuneSharp.Eval.Custom;
using TuneSharp.Eval.Tasks;
using Xunit;

namespace TuneSharp.Eval.Tests;

/// <summary>Custom tasks from YAML: prompts through the Jinja engine, each kind end to end on stories260K, bad files.</summary>
public sealed class CustomTaskTests(Stories stories) : IClassFixture<Stories>
{
    readonly string _dir = Directory.CreateTempSubdirectory("tunesharp-eval-").FullName;

    string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    EvalSession Session(EvalOptions options) => new(stories.Bundle.Model, stories.Bundle.Tokenizer, stories.Bundle.StopTokenIds, options);

    const string Data =
        "{\"story\": \"Tim had a red ball.\", \"q\": \"What color was the ball?\", \"options\": [\"blue\", \"red\"], \"answer\": \"red\"}\n" +
        "{\"story\": \"Sue saw a big dog.\", \"q\": \"What did Sue see?\", \"options\": [\"a dog\", \"a cat\"], \"answer\": \"a dog\"}\n";

    [Fact]
    public void MultipleChoice_Task_Renders_Jinja_And_Scores_Like_The_Builtin_Path()
    {
        Write("data.jsonl", Data);
        string yaml = Write("mc.yaml", """
            task: tiny_mc
            dataset_path: data.jsonl
            output_type: multiple_choice
            doc_to_text: "{{ story }}\nQuestion: {{ q }}\nAnswer:"
            doc_to_choice: options
            doc_to_target: "{{ answer }}"
            metric: [acc, acc_norm]
            """);
        var task = (MultipleChoiceTask)TaskRegistry.Resolve(yaml, new EvalOptions());
        var session = Session(new EvalOptions());
        var plan = task.Plan(session).Items;
        Assert.Equal("Tim had a red ball.\nQuestion: What color was the ball?\nAnswer:", plan[0].Doc.Query);
        Assert.Equal(1, plan[0].Doc.Gold);   // the target's text names the choice
        Assert.Equal(0, plan[1].Doc.Gold);
        var result = task.Run(session)[0];
        // acc recomputed from the scorer directly: the custom path adds nothing of its own to the numbers.
        double acc = plan.Average(p => MultipleChoiceTask.Score(McMetric.Acc, p.Doc,
            session.Scorer.ScoreShared(p.Requests).Select(s => s.LogLikelihood).ToArray()));
        Assert.Equal(acc, (double)result.Metrics["acc,none"]);
        Assert.True(result.Metrics.ContainsKey("acc_norm_stderr,none"));
    }

    [Fact]
    public void Generation_Task_With_Exact_Match_Or_A_Named_Grader()
    {
        Write("data.jsonl", Data);
        string Yaml(string extra) => Write("gen.yaml", "task: tiny_gen\ndataset_path: data.jsonl\noutput_type: generate_until\n" +
            "doc_to_text: \"{{ story }} {{ q }}\"\ndoc_to_target: \"{{ answer }}\"\ngeneration_kwargs: {until: [\".\"]}\n" + extra);
        var session = Session(new EvalOptions { MaxGenTokens = 8 });
        var exact = (GenerationTask)TaskRegistry.Resolve(Yaml("ignore_case: true\n"), session.Options);
        var r = exact.Run(session)[0];
        Assert.Equal(2, r.Effective);
        double expected = exact.Responses.Select((s, i) => s.Trim().ToLowerInvariant() == (i == 0 ? "red" : "a dog") ? 1.0 : 0.0).Average();
        Assert.Equal(expected, (double)r.Metrics["exact_match,none"]);
        Assert.All(exact.Responses, s => Assert.DoesNotContain(".", s)); // cut at the stop string

        // The extension point: a grader registered under a name, used by `grader:`.
        var graded = new EvalOptions { MaxGenTokens = 8, Graders = new Dictionary<string, IAnswerGrader> { ["length"] = new LengthGrader() } };
        var withGrader = (GenerationTask)TaskRegistry.Resolve(Yaml("grader: length\n"), graded);
        var g = withGrader.Run(Session(graded))[0];
        Assert.Equal(withGrader.Responses.Average(s => s.Length > 0 ? 1.0 : 0.0), (double)g.Metrics["length,none"]);

        // An OpenAI-shaped grader file from the graders library: string_check "ne" of the response against
        // item.reference (the rendered doc_to_target), so each item scores 1 exactly when the answer is not the reference.
        Write("differs.json", """{"type": "string_check", "name": "differs", "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}", "operation": "ne"}""");
        var openAi = (GenerationTask)TaskRegistry.Resolve(Yaml("grader: differs.json\n"), new EvalOptions { MaxGenTokens = 8 });
        var o = openAi.Run(Session(new EvalOptions { MaxGenTokens = 8 }))[0];
        string[] references = ["red", "a dog"];
        Assert.Equal(openAi.Responses.Select((resp, i) => resp != references[i] ? 1.0 : 0.0).Average(), (double)o.Metrics["differs.json,none"]);
        Write("broken.json", """{"type": "string_check", "name": "b", "input": "x", "reference": "y", "operation": "like!"}""");
        var bad = Assert.Throws<InvalidDataException>(() => TaskRegistry.Resolve(Yaml("grader: broken.json\n"), new EvalOptions()));
        Assert.Contains("broken.json", bad.Message);
        Assert.Contains("operation", bad.Message);
    }

    sealed class LengthGrader : IAnswerGrader
    {
        public double Grade(string response, string reference, IReadOnlyDictionary<string, object?> doc) =>
            doc.ContainsKey("story") && response.Length > 0 ? 1 : 0;
    }

    [Fact]
    public void Bad_Files_Name_The_Line()
    {
        Write("data.jsonl", Data);
        var unknown = Assert.Throws<InvalidDataException>(() => CustomTaskFile.Load(Write("a.yaml",
            "task: t\ndataset_path: data.jsonl\noutput_type: multiple_choice\ndoc_to_choise: options\n")));
        Assert.Contains("a.yaml:4: unknown key 'doc_to_choise'", unknown.Message);
        var metric = Assert.Throws<InvalidDataException>(() => CustomTaskFile.Load(Write("b.yaml",
            "task: t\ndataset_path: data.jsonl\noutput_type: generate_until\ndoc_to_target: x\nmetric: acc\n")));
        Assert.Contains("b.yaml:5: metric 'acc' does not apply to generate_until", metric.Message);
        var grader = Assert.Throws<InvalidDataException>(() => TaskRegistry.Resolve(Write("c.yaml",
            "task: t\ndataset_path: data.jsonl\noutput_type: generate_until\ndoc_to_target: x\ngrader: nope\n"), new EvalOptions()));
        Assert.Contains("grader 'nope' is not registered", grader.Message);
        var target = Assert.Throws<InvalidDataException>(() =>
            ((MultipleChoiceTask)TaskRegistry.Resolve(Write("d.yaml",
                "task: t\ndataset_path: data.jsonl\noutput_type: multiple_choice\ndoc_to_choice: options\ndoc_to_target: green\n"),
                new EvalOptions())).Plan(Session(new EvalOptions())));
        Assert.Contains("data.jsonl:1: doc_to_target 'green' is neither an index nor one of the choices", target.Message);
    }

    [Fact]
    public void Perplexity_Task_From_Yaml_And_From_A_Text_File()
    {
        string text = "Once upon a time, there was a little girl named Lily. She loved to play outside.";
        Write("data.jsonl", "{\"text\": \"" + text + "\"}\n");
        string yaml = Write("p.yaml", "task: tiny_ppl\ndataset_path: data.jsonl\noutput_type: loglikelihood_rolling\ndoc_to_text: \"{{ text }}\"\n");
        string txt = Write("story.txt", text);
        var session = Session(new EvalOptions());
        var fromYaml = TaskRegistry.Resolve(yaml, session.Options).Run(session)[0];
        var fromTxt = TaskRegistry.Resolve("perplexity=" + txt, session.Options).Run(session)[0];
        Assert.Equal((double)fromTxt.Metrics["word_perplexity,none"], (double)fromYaml.Metrics["word_perplexity,none"], 9);
        // Word and byte perplexity are the same total log-likelihood over 16 words or 80 bytes.
        double wordPpl = (double)fromTxt.Metrics["word_perplexity,none"], bytePpl = (double)fromTxt.Metrics["byte_perplexity,none"];
        Assert.Equal(Math.Log(wordPpl) * 16, Math.Log(bytePpl) * 80, 6);
        Assert.Equal(Math.Log2(bytePpl), (double)fromTxt.Metrics["bits_per_byte,none"], 9);
        Assert.InRange(bytePpl, 1.0, 10.0); // a TinyStories sentence is easy for a TinyStories model
    }
}
