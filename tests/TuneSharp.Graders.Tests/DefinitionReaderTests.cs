using TuneSharp.Graders.Definitions;
using TuneSharp.Graders.ModelClient;

namespace TuneSharp.Graders.Tests;

/// <summary>Reading OpenAI-shaped JSON and YAML-equivalent dictionaries; every bad input names its key path.</summary>
public class DefinitionReaderTests
{
    static GraderDefinitionException Bad(string json, GraderServices? services = null) =>
        Assert.Throws<GraderDefinitionException>(() => Support.Grader(json, services));

    [Fact]
    public void OpenAiWireShape_ReadsEveryField()
    {
        var d = (StringCheckDefinition)GraderDefinitionReader.Parse(
            """{"type":"string_check","name":"match","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","operation":"ilike"}""");
        Assert.Equal(("match", "{{ sample.output_text }}", "{{ item.answer }}", StringCheckOperation.Ilike), (d.Name, d.Input, d.Reference, d.Operation));

        var s = (ScoreModelDefinition)GraderDefinitionReader.Parse("""
            {"type":"score_model","name":"judge","model":"gpt-4o-mini","range":[1,10],"pass_threshold":7,
             "sampling_params":{"temperature":0,"top_p":0.9,"seed":3,"max_completions_tokens":50,"reasoning_effort":"low"},
             "input":[{"role":"system","content":"Score 1-10."},
                      {"role":"user","content":[{"type":"input_text","text":"Answer: {{ sample.output_text }}"}],"type":"message"}]}
            """);
        Assert.Equal((1.0, 10.0, 7.0), (s.RangeMin, s.RangeMax, s.PassThreshold!.Value));
        Assert.Equal(new SamplingParams { Temperature = 0, TopP = 0.9, Seed = 3, MaxCompletionTokens = 50, ReasoningEffort = "low" }, s.Sampling);
        Assert.Equal([new PromptMessage("system", "Score 1-10."), new PromptMessage("user", "Answer: {{ sample.output_text }}")], s.Input);
    }

    [Fact]
    public async Task YamlEquivalentDictionary_GivesTheSameGrader_NumbersMayBeStrings()
    {
        var def = GraderDefinitionReader.FromDictionary(new Dictionary<string, object?>
        {
            ["type"] = "multi", ["name"] = "combo", ["calculate_output"] = "0.5 * a + 0.5 * b",
            ["graders"] = new Dictionary<object, object?>
            {
                ["a"] = new Dictionary<object, object?> { ["type"] = "string_check", ["input"] = "{{ sample.output_text }}", ["reference"] = "{{ item.x }}", ["operation"] = "eq" },
                ["b"] = new Dictionary<object, object?>
                {
                    ["type"] = "text_similarity", ["name"] = "b", ["input"] = "{{ sample.output_text }}", ["reference"] = "{{ item.x }}",
                    ["evaluation_metric"] = "fuzzy_match", ["pass_threshold"] = "0.5", // YAML scalars arrive as strings
                },
            },
        });
        var multi = Assert.IsType<MultiDefinition>(def);
        Assert.Equal("a", multi.Graders["a"].Name); // a sub-grader without a name takes its key
        Assert.Equal(0.5, ((TextSimilarityDefinition)multi.Graders["b"]).PassThreshold);
        var r = await GraderFactory.Create(def).Grade("""{"x":"abcd"}""", "abcd");
        Assert.Equal(1.0, r.Score, 12);
    }

    [Fact]
    public void UnknownType_SuggestsTheClosest()
    {
        var e = Bad("""{"type":"string_chek","name":"n","input":"a","reference":"b","operation":"eq"}""");
        Assert.Equal("type", e.Path);
        Assert.Contains("unknown grader type 'string_chek' (did you mean 'string_check'?)", e.Message);
    }

    [Theory]
    [InlineData("""{"name":"n"}""", "type", "missing required key")]
    [InlineData("""{"type":"string_check","name":"n","input":"a","operation":"eq"}""", "reference", "missing required key")]
    [InlineData("""{"type":"string_check","name":"n","input":"a","reference":"b","operation":"equals"}""", "operation", "'equals' is not one of eq, ne, like, ilike")]
    [InlineData("""{"type":"string_check","name":"n","input":"a","reference":"b","operation":"eq","refrence":"c"}""", "refrence", "did you mean 'reference'?")]
    [InlineData("""{"type":"string_check","name":7,"input":"a","reference":"b","operation":"eq"}""", "name", "must be a string, got the number 7")]
    [InlineData("""{"type":"text_similarity","name":"n","input":"a","reference":"b","evaluation_metric":"rouge"}""", "evaluation_metric", "'rouge' is not one of")]
    [InlineData("""{"type":"text_similarity","name":"n","input":"a","reference":"b","evaluation_metric":"bleu","pass_threshold":"high"}""", "pass_threshold", "must be a number")]
    [InlineData("""{"type":"score_model","name":"n","model":"m","input":[]}""", "input", "at least one message")]
    [InlineData("""{"type":"score_model","name":"n","model":"m","input":[{"role":"robot","content":"x"}]}""", "input[0].role", "'robot' is not one of")]
    [InlineData("""{"type":"score_model","name":"n","model":"m","input":[{"role":"user","content":{"type":"input_image","text":"x"}}]}""", "input[0].content.type", "not supported")]
    [InlineData("""{"type":"score_model","name":"n","model":"m","range":[5,1],"input":[{"role":"user","content":"x"}]}""", "range", "must be below max")]
    [InlineData("""{"type":"score_model","name":"n","model":"m","sampling_params":{"temprature":0},"input":[{"role":"user","content":"x"}]}""", "sampling_params.temprature", "did you mean 'temperature'?")]
    [InlineData("""{"type":"multi","name":"n","calculate_output":"a","graders":{"a":{"type":"string_check","input":"x","reference":"y","operation":"like!"}}}""", "graders.a.operation", "'like!' is not one of")]
    [InlineData("""{"type":"multi","name":"n","calculate_output":"a + c","graders":{"a":{"type":"string_check","input":"x","reference":"y","operation":"eq"}}}""", "calculate_output", "'c' is not a grader in 'graders' (graders: a)")]
    [InlineData("""{"type":"multi","name":"n","calculate_output":"a","graders":{}}""", "graders", "at least one grader")]
    [InlineData("""{"type":"regex","name":"n","pattern":"(unclosed"}""", "pattern", "invalid regular expression")]
    [InlineData("""{"type":"regex","name":"n","pattern":"a","flags":"iq"}""", "flags", "unknown flag 'q'")]
    [InlineData("""{"type":"json_schema","name":"n","schema":{"type":"objekt"}}""", "schema", "not a usable JSON schema")]
    [InlineData("""{"type":"numeric","name":"n","reference":"1","tolerance":{"absolute":-1}}""", "tolerance.absolute", "must be >= 0")]
    [InlineData("""{"type":"numeric","name":"n","reference":"1","extract":"middle"}""", "extract", "'middle' is not one of last, first, gsm8k, boxed, strict")]
    [InlineData("""{"type":"python","name":"n","source":"def grade(s, i): return 1"}""", "type", "not supported")]
    [InlineData("""{"type":"string_check","name":"n","input":"{{ itm.x }}","reference":"b","operation":"eq"}""", "input", "unknown namespace 'itm'")]
    public void BadDefinition_NamesTheKeyPath(string json, string path, string message)
    {
        var e = Bad(json);
        Assert.Equal(path, e.Path);
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path + ": ", e.Message);
    }

    [Fact]
    public void NotJson_OrNotAnObject()
    {
        Assert.Contains("not valid JSON", Bad("{\"type\": ").Message);
        Assert.Contains("must be an object, got an array", Bad("[1]").Message);
    }

    [Fact]
    public void Meteor_IsRefusedWithAReason()
    {
        var e = Bad("""{"type":"text_similarity","name":"n","input":"a","reference":"b","evaluation_metric":"meteor"}""");
        Assert.Equal("evaluation_metric", e.Path);
        Assert.Contains("WordNet", e.Message);
    }

    [Fact]
    public void Cosine_WithoutEmbeddingsEndpoint_IsRefused()
    {
        var e = Bad("""{"type":"text_similarity","name":"n","input":"a","reference":"b","evaluation_metric":"cosine"}""");
        Assert.Contains("needs an embeddings endpoint", e.Message);
    }

    [Fact]
    public void ScoreModel_WithoutChatEndpoint_IsRefused_InsideMultiWithItsPath()
    {
        var e = Bad("""{"type":"multi","name":"n","calculate_output":"j","graders":{"j":{"type":"score_model","name":"j","model":"m","input":[{"role":"user","content":"x"}]}}}""");
        Assert.Equal("graders.j.type", e.Path);
        Assert.Contains("needs a chat-completions endpoint", e.Message);
        // With an endpoint configured it builds (nothing is called until GradeAsync).
        Support.Grader("""{"type":"score_model","name":"j","model":"m","input":[{"role":"user","content":"x"}]}""",
            new GraderServices { Chat = new ModelEndpoint(new Uri("http://127.0.0.1:9/v1")) });
    }

    [Fact]
    public async Task Yaml_ReadThroughYamlDotNet_EqualsTheJsonDefinition()
    {
        const string yaml = """
            type: multi
            name: combo
            calculate_output: 0.5 * exact + 0.5 * judge_free
            graders:
              exact:
                type: string_check
                input: "{{ sample.output_text }}"
                reference: "{{ item.answer }}"
                operation: ilike
              judge_free:
                type: numeric
                name: judge_free
                reference: "{{ item.answer }}"
                extract: last
                tolerance: {absolute: 0.5}
            """;
        object? tree = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<object>(yaml);
        var fromYaml = Assert.IsType<MultiDefinition>(GraderDefinitionReader.FromObject(tree));
        var fromJson = Assert.IsType<MultiDefinition>(GraderDefinitionReader.Parse("""
            {"type":"multi","name":"combo","calculate_output":"0.5 * exact + 0.5 * judge_free","graders":{
              "exact":{"type":"string_check","name":"exact","input":"{{ sample.output_text }}","reference":"{{ item.answer }}","operation":"ilike"},
              "judge_free":{"type":"numeric","name":"judge_free","reference":"{{ item.answer }}","extract":"last","tolerance":{"absolute":0.5}}}}
            """));
        Assert.Equal(fromJson.CalculateOutput, fromYaml.CalculateOutput);
        Assert.Equal(fromJson.Graders["exact"], fromYaml.Graders["exact"]);
        Assert.Equal(fromJson.Graders["judge_free"], fromYaml.Graders["judge_free"]);
        var g = GraderFactory.Create(fromYaml);
        Assert.Equal(1.0, (await g.Grade("""{"answer":"12"}""", "I count 12.4 apples")).Score);  // contains "12"; |12.4-12| <= 0.5
        Assert.Equal(0.5, (await g.Grade("""{"answer":"12"}""", "I count 12.6 apples")).Score);  // contains "12"; 0.6 > 0.5
    }

    [Fact]
    public void Yaml_BadValue_NamesThePath()
    {
        object? tree = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<object>("""
            type: text_similarity
            name: s
            input: "{{ sample.output_text }}"
            reference: "{{ item.a }}"
            evaluation_metric: rouge_7
            """);
        var e = Assert.Throws<GraderDefinitionException>(() => GraderDefinitionReader.FromObject(tree, "tasks.qa.grader"));
        Assert.Equal("tasks.qa.grader.evaluation_metric", e.Path);
    }
}
