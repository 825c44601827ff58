using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using TuneSharp.Export.Gguf;
using TuneSharp.Inference;
using TuneSharp.Peft;
using TuneSharp.Serve;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Outputs;
using TuneSharp.Training.Setup;
using Xunit;
using static TorchSharp.torch;

namespace TuneSharp.Cli.Tests;

/// <summary>
/// Issue 11 item 6 end to end on stories260K (which has no chat template of its own): an adapter trained with
/// data.template=mistral, saved by the training's own output function, carries that template into chat, generate,
/// serve, export merge, the GGUF and the Ollama Modelfile without any --template.
/// </summary>
public sealed class TrainedTemplateTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("tunesharp-trained-template").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static string Stories => Fixtures.Get("models/stories260K-hf");
    static string Mistral => ChatTemplate.BuiltIn("mistral").Source;

    /// <summary>A LoRA adapter "trained" (B randomized) and written as the training run writes it.</summary>
    string TrainedAdapter()
    {
        var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj", "down_proj");
        var policy = new LoraPolicy(settings);
        using var model = new TrainableModel
        {
            Model = policy.LoadModel(Stories, seed: 1), Tokenizer = HfTokenizer.Load(Stories), Directory = Stories,
            DType = ScalarType.Float32, Policy = policy,
        };
        using (no_grad())
            foreach (var (_, layer) in model.Model.Adapters()) layer.LoraB.normal_(0, 0.05, new TorchSharp.torch.Generator().manual_seed(2));
        return FinalOutputs.Save(Path.Combine(_root, "run"), model, Stories, Mistral);
    }

    /// <summary>Independent of the commands: the mistral prompt for one user message, greedy, stopping at EOS (= Mistral's end of turn).</summary>
    static string Reply(string adapter, string user)
    {
        using var reference = AdapterIO.Load(adapter, Stories);
        var tok = HfTokenizer.Load(Stories);
        var messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = user });
        string prompt = ChatTemplate.BuiltIn("mistral").Render(messages, addGenerationPrompt: true, bosToken: tok.BosToken, eosToken: tok.EosToken);
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 12, StopTokenIds = [tok.EosTokenId!.Value] };
        return string.Concat(new TextGenerator(reference.Model, tok).Stream(tok.Encode(prompt, addSpecialTokens: false), options));
    }

    static async Task<(int Exit, string Stdout, string Stderr)> Run(string stdin, params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(args, stdout, stderr, new StringReader(stdin));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task TheTrainedTemplate_IsUsedByDefault_InEveryOutput()
    {
        string adapter = TrainedAdapter();
        Assert.Equal(Mistral, (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, "tokenizer_config.json")))!["chat_template"]);
        Assert.Equal(Mistral, File.ReadAllText(Path.Combine(adapter, "chat_template.jinja")));
        string expected = Reply(adapter, "Once upon a time");

        // generate --chat and chat take the adapter's template without --template ...
        var gen = await Run("", "generate", "-m", Stories, "--adapter", adapter, "--chat", "-p", "Once upon a time", "-t", "0", "-n", "12");
        Assert.True(gen.Exit == 0, gen.Stderr);
        Assert.Equal(expected + "\n", gen.Stdout);
        var chat = await Run("Once upon a time\n", "chat", "-m", Stories, "--adapter", adapter, "-t", "0", "-n", "12");
        Assert.True(chat.Exit == 0, chat.Stderr);
        Assert.Equal(expected + "\n", chat.Stdout);
        // ... which the base model alone does not have.
        var bare = await Run("", "generate", "-m", Stories, "--chat", "-p", "Once upon a time", "-n", "2");
        Assert.Equal(1, bare.Exit);
        Assert.Contains("--template", bare.Stderr);

        // serve: requests to the adapter use its template; the base has none.
        using (var served = ServedModel.Load(Stories, [new AdapterSource("tuned", adapter)]))
        {
            Assert.Equal(Mistral, served.PrompterFor("tuned")!.Template.Source);
            Assert.Null(served.PrompterFor(null));
        }

        // export merge: the merged folder carries it, and generate --chat finds it there.
        string merged = Path.Combine(_root, "merged");
        var merge = await Run("", "export", "merge", "--base", Stories, "--adapter", adapter, "--out", merged);
        Assert.True(merge.Exit == 0, merge.Stderr);
        Assert.Equal(Mistral, HfTokenizer.Load(merged).ChatTemplate);
        Assert.Equal(Mistral, File.ReadAllText(Path.Combine(merged, "chat_template.jinja")));
        var fromMerged = await Run("", "generate", "-m", merged, "--chat", "-p", "Once upon a time", "-t", "0", "-n", "12");
        Assert.True(fromMerged.Exit == 0, fromMerged.Stderr);
        Assert.Equal(expected + "\n", fromMerged.Stdout);

        // export gguf: tokenizer.chat_template in the file, the exact Mistral layout in the Modelfile.
        string gguf = Path.Combine(_root, "gguf", "tuned.gguf");
        var export = await Run("", "export", "gguf", "--model", Stories, "--adapter", adapter, "--out", gguf, "--type", "f32");
        Assert.True(export.Exit == 0, export.Stderr);
        Assert.Equal(Mistral, new GgufReader(gguf).Metadata["tokenizer.chat_template"]);
        string modelfile = File.ReadAllText(Path.Combine(_root, "gguf", "tuned.Modelfile"));
        Assert.Contains("TEMPLATE \"\"\"{{ $first := true }}{{ range .Messages }}{{ if eq .Role \"user\" }}[INST] ", modelfile);
        Assert.Contains("TEMPLATE mistral", export.Stdout);
    }

    [Fact]
    public async Task Generate_TemplateOrSystemWithoutChat_IsAUsageError()
    {
        var r = await Run("", "generate", "-m", Stories, "--template", "mistral", "-p", "x");
        Assert.Equal(2, r.Exit);
        Assert.Contains("--template applies to --chat", r.Stdout + r.Stderr);
        r = await Run("", "chat", "-m", Stories, "--template", "mistrall");
        Assert.Equal(2, r.Exit);
        Assert.Contains("unknown chat template 'mistrall'", r.Stdout + r.Stderr);
    }
}
