using System.Text.Json.Nodes;
using TorchSharp;
using TuneSharp.Cli.Commands;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Peft;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp chat` in-process with piped stdin: stories260K (no chat template of its own) with --template mistral.</summary>
public class ChatCommandTests
{
    static readonly string[] Greedy20 = ["--template", "mistral", "-t", "0", "-n", "20"];

    static async Task<(int Exit, string Stdout, string Stderr)> Chat(string input, params string[] extra)
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter();
        string[] args = ["chat", "--model", dir, .. Greedy20, .. extra];
        int exit = await CliApp.RunAsync(args, stdout, stderr, new StringReader(input));
        Assert.True(exit == 0, stderr.ToString());
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Independent of the command: render the conversation with the template, generate greedily with TextGenerator.</summary>
    static string Reply(ModelBundle bundle, JsonArray messages)
    {
        var tok = bundle.Tokenizer;
        string prompt = ChatTemplate.BuiltIn("mistral").Render(messages, addGenerationPrompt: true, bosToken: tok.BosToken, eosToken: tok.EosToken);
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 20, StopTokenIds = bundle.StopTokenIds };
        return string.Concat(new TextGenerator(bundle.Model, tok).Stream(tok.Encode(prompt, addSpecialTokens: false), options));
    }

    static JsonObject Msg(string role, string content) => new() { ["role"] = role, ["content"] = content };

    [Fact]
    public async Task TwoTurns_SecondPromptCarriesTheFirstTurn()
    {
        var r = await Chat("Tell me about the cat.\nWhat did the dog do?\n");

        using var bundle = ModelBundle.Load(Fixtures.Get("models/stories260K-hf"));
        string first = Reply(bundle, [Msg("user", "Tell me about the cat.")]);
        string second = Reply(bundle, [Msg("user", "Tell me about the cat."), Msg("assistant", first), Msg("user", "What did the dog do?")]);
        string fresh = Reply(bundle, [Msg("user", "What did the dog do?")]);
        Assert.NotEqual(fresh, second); // otherwise the test could not tell history from no history
        // Piped: no "> " prompt, each reply followed by one newline.
        Assert.Equal(first + "\n" + second + "\n", r.Stdout);
        Assert.Equal(2, r.Stderr.Split('\n').Count(l => l.StartsWith("prompt ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Reset_ForgetsTheHistory()
    {
        var withHistory = await Chat("Tell me about the cat.\nWhat did the dog do?\n");
        var reset = await Chat("Tell me about the cat.\n/reset\nWhat did the dog do?\n");
        var once = await Chat("Tell me about the cat.\n");
        var alone = await Chat("What did the dog do?\n");
        // After /reset the second reply is the reply to the second message alone.
        Assert.Equal(once.Stdout + alone.Stdout, reset.Stdout);
        Assert.NotEqual(withHistory.Stdout, reset.Stdout);
    }

    [Fact]
    public async Task Reset_KeepsTheSystemPrompt()
    {
        const string system = "You tell short stories.";
        var reset = await Chat("Tell me about the cat.\n/reset\nWhat did the dog do?\n", "--system", system);
        var once = await Chat("Tell me about the cat.\n", "--system", system);
        var alone = await Chat("What did the dog do?\n", "--system", system);
        var noSystem = await Chat("What did the dog do?\n");
        Assert.NotEqual(noSystem.Stdout, alone.Stdout); // the system prompt reaches the model
        Assert.Equal(once.Stdout + alone.Stdout, reset.Stdout);
    }

    [Fact]
    public async Task Exit_StopsReading()
    {
        var once = await Chat("Tell me about the cat.\n");
        var exited = await Chat("Tell me about the cat.\n/exit\nWhat did the dog do?\n");
        Assert.True(once.Stdout.Length > 1, once.Stdout);
        Assert.Equal(once.Stdout, exited.Stdout);
    }

    [Fact]
    public async Task EndOfInput_WithoutNewline_AnswersThenQuits()
    {
        var once = await Chat("Tell me about the cat.\n");
        var eof = await Chat("Tell me about the cat.");
        Assert.Equal(once.Stdout, eof.Stdout);
        Assert.Equal("", (await Chat("")).Stdout);
    }

    [Fact]
    public async Task Adapter_ChangesTheReply()
    {
        string baseDir = Fixtures.Get("models/stories260K-hf");
        string adapterDir = Directory.CreateTempSubdirectory("tunesharp-chat-adapter").FullName;
        try
        {
            var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj", "down_proj");
            using (var model = new LoraPolicy(settings).LoadModel(baseDir, seed: 1))
            using (torch.no_grad())
            {
                // lora_B starts at zero (the adapter is then a no-op); make it nonzero so the adapter changes the output.
                foreach (var (_, layer) in model.Adapters()) layer.LoraB.fill_(0.2);
                AdapterIO.Save(adapterDir, model, settings, baseDir);
            }
            var plain = await Chat("Tell me about the cat.\n");
            var adapted = await Chat("Tell me about the cat.\n", "--adapter", adapterDir);
            Assert.Contains("with adapter", adapted.Stderr);
            Assert.True(adapted.Stdout.EndsWith('\n'), adapted.Stdout);
            Assert.NotEqual(plain.Stdout, adapted.Stdout);
        }
        finally { Directory.Delete(adapterDir, true); }
    }

    [Fact]
    public void EndOfTurnToken_IsTheSpecialTokenAfterTheReply()
    {
        var tok = Tokenizers.HfTokenizer.Load(Fixtures.Get("models/stories260K-hf"));
        // mistral closes a reply with eos_token "</s>", a special token of this tokenizer; alpaca closes with plain text.
        Assert.Equal(tok.EosTokenId, ChatPrompter.FindEndOfTurnTokenId(ChatTemplate.BuiltIn("mistral"), tok));
        Assert.Null(ChatPrompter.FindEndOfTurnTokenId(ChatTemplate.BuiltIn("plain"), tok));
    }

    [Fact]
    public async Task NoChatTemplate_AndNoTemplateOption_FailsNamingTheFolder()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(["chat", "--model", dir], new StringWriter(), stderr, new StringReader("hi\n"));
        Assert.Equal(CliApp.Failed, exit);
        Assert.Contains("--template", stderr.ToString());
        Assert.Contains(dir, stderr.ToString());
    }

    static int Count(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;

    [Fact]
    public void Piped_CtrlCDuringAReply_StopsThatReply_AndTheChatGoesOn()
    {
        // Replies of up to 100,000 tokens: only a signal ends them early.
        using var chat = CliRunner.StartWithInput(null, ["chat", "--model", Fixtures.Get("models/stories260K-hf"), "--template", "mistral",
            "-t", "0", "-n", "100000"]);
        var stdin = chat.Process.StandardInput;
        stdin.WriteLine("Tell me about the cat.");
        stdin.Flush();
        chat.WaitUntil(() => chat.Stdout.Length > 0, "the first reply");
        chat.Signal(CliRunner.Running.SIGINT);
        chat.WaitUntil(() => Count(chat.Stderr, "reply stopped") == 1 && chat.Stdout.EndsWith('\n'), "the first reply to stop");

        int before = chat.Stdout.Length;
        stdin.WriteLine("What did the dog do?");
        stdin.Flush();
        chat.WaitUntil(() => chat.Stdout.Length > before, "the second reply");
        chat.Signal(CliRunner.Running.SIGINT);
        chat.WaitUntil(() => Count(chat.Stderr, "reply stopped") == 2, "the second reply to stop");
        stdin.Close(); // end of input quits normally

        Assert.True(chat.WaitForExit() == 0, $"exit {chat.Process.ExitCode}: {chat.Stderr}");
        Assert.DoesNotContain("stopping cleanly", chat.Stderr); // the chat itself was never stopped
        chat.AssertNoCrash();
    }

    [Fact]
    public void Piped_CtrlCWhileWaitingForInput_Quits130()
    {
        using var chat = CliRunner.StartWithInput(null, ["chat", "--model", Fixtures.Get("models/stories260K-hf"), .. Greedy20]);
        chat.WaitUntil(() => chat.Stderr.Contains("loaded", StringComparison.Ordinal), "the model to load");
        chat.Signal(CliRunner.Running.SIGINT);
        Assert.True(chat.WaitForExit() == 130, $"exit {chat.Process.ExitCode}: {chat.Stderr}");
        chat.AssertNoCrash();
    }
}

