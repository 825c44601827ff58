using System.Text.Json.Nodes;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;
using static TuneSharp.Data.Tests.Encoding.EncodingTestData;

namespace TuneSharp.Data.Tests.Encoding;

/// <summary>Chat label masks on real tokenizers and templates, verified by decoding the trained tokens.</summary>
public sealed class ChatEncodingTests
{
    static readonly EncodingSettings Default = new(4096);

    static TokenizedSample Encode(ExampleEncoder encoder, Example example)
    {
        var r = encoder.Encode(example);
        Assert.True(r.Sample != null, r.ToString());
        return r.Sample!;
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public void Ids_AreTheTokenizerIds_OfTheRenderedText(string name)
    {
        var tok = Tokenizer(name);
        var template = OwnTemplate(name);
        var encoder = new ExampleEncoder(tok, template, Default);
        foreach (var chat in new[] { ThreeTurns, OneTurn })
        {
            var messages = new JsonArray(chat.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
            string rendered = template.Render(messages, false, null, tok.BosToken, tok.EosToken);
            Assert.Equal(tok.Encode(rendered, addSpecialTokens: false), Encode(encoder, chat).InputIds);
        }
    }

    [Fact]
    public void Qwen3_TrainsEachAssistantContent_AndImEnd()
    {
        var tok = Tokenizer("qwen3");
        var encoder = new ExampleEncoder(tok, OwnTemplate("qwen3"), Default);
        Assert.Equal("<|im_end|>", encoder.EndOfTurn);
        // Qwen3 renders an (empty) think block for the last turn only: earlier renderings are not prefixes, so the
        // earlier turns are found by the search fallback.
        var spans = encoder.Renderer.RenderWithSpans(ThreeTurns.Messages, null).Assistant;
        Assert.Equal([SpanMethod.Search, SpanMethod.Search, SpanMethod.Prefix], spans.Select(s => s.Method));
        Assert.Equal(
            ["4.<|im_end|>", "3 * 3 = 9.\nSo: 9<|im_end|>", "<think>\n\n</think>\n\nBonjour, ça va? 🙂 Très bien.<|im_end|>"],
            DecodedRuns(tok, Encode(encoder, ThreeTurns)));
    }

    [Fact]
    public void Qwen3_ReasoningContent_IsTrainedInTheLastTurn()
    {
        var tok = Tokenizer("qwen3");
        var encoder = new ExampleEncoder(tok, OwnTemplate("qwen3"), Default);
        var chat = new ChatExample(Src,
        [
            new ChatMessage("user", "Hi"),
            new ChatMessage("assistant", "Hello!") { ReasoningContent = "dropped: not after the last query" },
            new ChatMessage("user", "2+3?"),
            new ChatMessage("assistant", "5") { ReasoningContent = "2 plus 3 is 5." },
        ]);
        Assert.Equal(["Hello!<|im_end|>", "<think>\n2 plus 3 is 5.\n</think>\n\n5<|im_end|>"], DecodedRuns(tok, Encode(encoder, chat)));
    }

    [Fact]
    public void Qwen3_ToolCallTurn_TrainsTheCall_NotTheToolResponse()
    {
        var tok = Tokenizer("qwen3");
        var encoder = new ExampleEncoder(tok, OwnTemplate("qwen3"), Default);
        var runs = DecodedRuns(tok, Encode(encoder, ToolConversation()));
        Assert.Equal(
        [
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>",
            "<think>\n\n</think>\n\nIt is 21 degrees.<|im_end|>",
        ], runs);
    }

    [Fact]
    public void Llama3_TrainsEachAssistantContent_AndEotId()
    {
        var tok = Tokenizer("llama3");
        var encoder = new ExampleEncoder(tok, OwnTemplate("llama3"), Default);
        Assert.Equal("<|eot_id|>", encoder.EndOfTurn);  // not the tokenizer's eos <|end_of_text|>
        var sample = Encode(encoder, ThreeTurns);
        Assert.Equal(tok.BosTokenId, sample.InputIds[0]);
        Assert.Equal(["4.<|eot_id|>", "3 * 3 = 9.\nSo: 9<|eot_id|>", "Bonjour, ça va? 🙂 Très bien.<|eot_id|>"], DecodedRuns(tok, sample));
    }

    public static TheoryData<string, string, string> BuiltIns() => new()
    {
        { "chatml", "qwen3", "<|im_end|>" },
        { "llama3", "llama3", "<|eot_id|>" },
        { "mistral", "llama2", "</s>" },
        { "alpaca", "llama2", "</s>" },
    };

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void BuiltInTemplates_TrainContentAndEndToken(string template, string tokenizer, string end)
    {
        var tok = Tokenizer(tokenizer);
        var encoder = new ExampleEncoder(tok, ChatTemplate.BuiltIn(template), Default);
        Assert.Equal(end, encoder.EndOfTurn);
        var chat = Chat(("user", "What is 2+2?"), ("assistant", "4."), ("user", "Thanks! And 3*3?"), ("assistant", "9, of course."));
        Assert.Equal(["4." + end, "9, of course." + end], DecodedRuns(tok, Encode(encoder, chat)));
    }

    [Fact]
    public void Plain_TemplateWithoutEndToken_TrainsTheContent()
    {
        var tok = Tokenizer("qwen3");
        var encoder = new ExampleEncoder(tok, ChatTemplate.BuiltIn("plain"), Default);
        Assert.Null(encoder.EndOfTurn);
        // No end token: a turn ends with the text the template closes it with ("\n"). The generation prompt ends with
        // a space that the byte-level token " Blue" absorbs: a token touching the turn is trained.
        Assert.Equal(["4.\n", " Blue\n"], DecodedRuns(tok, Encode(encoder, Chat(("user", "2+2?"), ("assistant", "4."), ("user", "A colour?"), ("assistant", "Blue")))));
    }

    [Fact]
    public void LastAssistant_TrainsOnlyTheFinalTurn_And_Weight0_ExcludesATurn()
    {
        var tok = Tokenizer("qwen3");
        var template = OwnTemplate("qwen3");
        var last = new ExampleEncoder(tok, template, Default with { TrainOn = TrainOn.LastAssistant });
        Assert.Equal(["<think>\n\n</think>\n\nBonjour, ça va? 🙂 Très bien.<|im_end|>"], DecodedRuns(tok, Encode(last, ThreeTurns)));

        var weighted = ThreeTurns with { Messages = ThreeTurns.Messages.Select((m, i) => i == 4 ? m with { Weight = 0 } : m).ToList() };
        var assistant = new ExampleEncoder(tok, template, Default);
        Assert.Equal(["4.<|im_end|>", "<think>\n\n</think>\n\nBonjour, ça va? 🙂 Très bien.<|im_end|>"], DecodedRuns(tok, Encode(assistant, weighted)));

        // weight 1 includes a turn that last_assistant would skip
        var forced = ThreeTurns with { Messages = ThreeTurns.Messages.Select((m, i) => i == 2 ? m with { Weight = 1 } : m).ToList() };
        Assert.Equal(2, TrainedRuns(Encode(last, forced)).Count);
    }

    [Fact]
    public void All_TrainsEveryToken_ExceptWeight0Turns()
    {
        var tok = Tokenizer("qwen3");
        var encoder = new ExampleEncoder(tok, OwnTemplate("qwen3"), Default with { TrainOn = TrainOn.All });
        var sample = Encode(encoder, ThreeTurns);
        Assert.All(sample.Trained, Assert.True);
        var weighted = ThreeTurns with { Messages = ThreeTurns.Messages.Select((m, i) => i == 2 ? m with { Weight = 0 } : m).ToList() };
        var runs = DecodedRuns(tok, Encode(encoder, weighted));
        Assert.Equal(2, runs.Count);
        Assert.EndsWith("<|im_start|>assistant\n", runs[0]);  // the header stays trained, the turn's content does not
        Assert.StartsWith("\n<|im_start|>user\nAnd 3 times 3?", runs[1]);
    }

    /// <summary>The classic bug: labels derived by masking pad ids also mask EOS when pad == eos. Labels here come from
    /// the trained flags, so EOS stays a target.</summary>
    [Fact]
    public void PadEqualsEos_EosIsStillALabel()
    {
        string dir = Directory.CreateTempSubdirectory("tunesharp-padeos-").FullName;
        try
        {
            string src = Fixtures.Get("tokenizers/qwen3");
            File.CreateSymbolicLink(Path.Combine(dir, "tokenizer.json"), Path.Combine(src, "tokenizer.json"));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "tokenizer_config.json")))!.AsObject();
            config["pad_token"] = config["eos_token"]!.GetValue<string>();
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
            var tok = HfTokenizer.Load(dir);
            Assert.Equal(tok.EosTokenId, tok.PadTokenId);
            int eos = tok.EosTokenId!.Value;

            var encoder = new ExampleEncoder(tok, ChatTemplate.FromSource(tok.ChatTemplate!), Default);
            var samples = new[] { Encode(encoder, OneTurn), Encode(encoder, ThreeTurns) };
            foreach (var batch in new[] { Collator.Pad(samples, tok.PadTokenId!.Value) }.Concat(Collator.Pack(samples, 512, 2, tok.PadTokenId!.Value)))
            {
                int eosLabels = batch.Labels.Count(l => l == eos);
                Assert.Equal(1 + 3, eosLabels);  // one per assistant turn: 1 + 3
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TemplateError_IsAProblem_NotAnException()
    {
        var tok = Tokenizer("llama2");
        var encoder = new ExampleEncoder(tok, ChatTemplate.BuiltIn("mistral"), Default);
        var r = encoder.Encode(Chat(("user", "a"), ("user", "b")));
        Assert.Equal(EncodeStatus.Problem, r.Status);
        Assert.Contains("alternate", r.Reason);
        Assert.Contains("test.jsonl:1", r.ToString());
    }

    /// <summary>Every shared real-world template: each trained turn is exactly a slice of the rendering that holds the
    /// content and ends with the inferred end-of-turn marker.</summary>
    [Theory]
    [InlineData("chatml.jinja", "qwen3")]
    [InlineData("qwen2.5-instruct.jinja", "qwen3")]
    [InlineData("llama-3-instruct.jinja", "llama3")]
    [InlineData("llama-2-chat.jinja", "llama2")]
    [InlineData("mistral-instruct.jinja", "llama2")]
    [InlineData("zephyr.jinja", "llama2")]
    [InlineData("vicuna.jinja", "llama2")]
    // These end tokens are not special in the tokenizers at hand: no marker is inferred and a turn ends where the
    // template's rendering of it ends.
    [InlineData("phi-3.jinja", "llama2")]
    [InlineData("gemma-it.jinja", "llama2")]
    [InlineData("granite-3.0-instruct.jinja", "qwen3")]
    public void SharedTemplates_TrainedRuns_AreContentThenEndMarker(string file, string tokenizer)
    {
        var tok = Tokenizer(tokenizer);
        var template = ChatTemplate.FromSource(File.ReadAllText(Fixtures.Get("chat-templates/" + file)), file);
        var encoder = new ExampleEncoder(tok, template, Default);
        var chat = Chat(("user", "What is 2+2?"), ("assistant", "It is 4."), ("user", "And 3*3?"), ("assistant", "That is 9."));
        var rendering = encoder.Renderer.RenderWithSpans(chat.Messages, null);
        Assert.Equal(2, rendering.Assistant.Count);
        var enc = tok.EncodeWithOffsets(rendering.Text, addSpecialTokens: false);
        var sample = Encode(encoder, chat);
        string[] contents = ["It is 4.", "That is 9."];
        for (int k = 0; k < 2; k++)
        {
            var span = rendering.Assistant[k];
            string text = rendering.Text[span.Start..span.End];
            Assert.Contains(contents[k], text);
            if (encoder.EndOfTurn != null)
            {
                Assert.EndsWith(encoder.EndOfTurn, text);
                Assert.EndsWith(contents[k], text[..^encoder.EndOfTurn.Length].TrimEnd());  // llama-2 writes "content </s>"
            }
            // the trained tokens of this turn are the tokens covering exactly this text
            var turnTokens = Enumerable.Range(0, enc.Ids.Length).Where(t => enc.Starts[t] < span.End && enc.Ends[t] > span.Start).ToArray();
            Assert.All(turnTokens, t => Assert.True(sample.Trained[t]));
            Assert.Contains(text.Trim(), rendering.Text[enc.Starts[turnTokens[0]]..enc.Ends[turnTokens[^1]]]);
        }
        Assert.Equal(2, TrainedRuns(sample).Count);
    }
}
