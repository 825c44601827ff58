using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TorchSharp;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Peft;
using TuneSharp.Testing;

namespace TuneSharp.Serve.Tests;

/// <summary>
/// One real server on a loopback port 0 for the test class: stories260K with the built-in chatml template, an API key,
/// and one LoRA adapter ("tiny-lora", written here with non-zero B so it changes the output). Started on first use so
/// that a missing shared fixture skips the test instead of failing the class.
/// </summary>
public sealed class ServerFixture : IAsyncDisposable
{
    public const string Key = "test-key-123", ModelId = "stories260K-hf", AdapterName = "tiny-lora", Template = "chatml";
    public const int MaxTokensLimit = 300, MaxRequestBytes = 64 * 1024;

    readonly SemaphoreSlim _gate = new(1, 1);
    OpenAiServer? _server;
    string? _adapterDir;

    public string ModelDir => Fixtures.Get("models/stories260K-hf");
    public string AdapterDir => _adapterDir ?? throw new InvalidOperationException("server not started");

    public async Task<OpenAiServer> Server()
    {
        string dir = ModelDir; // skips the test when the shared fixtures are absent
        await _gate.WaitAsync();
        try
        {
            if (_server != null) return _server;
            _adapterDir = Directory.CreateTempSubdirectory("tunesharp-serve-adapter").FullName;
            var settings = LoraSettings.Create(4, 8, "q_proj", "v_proj", "down_proj");
            using (var model = new LoraPolicy(settings).LoadModel(dir, seed: 1))
            using (torch.no_grad())
            {
                foreach (var (_, layer) in model.Adapters()) layer.LoraB.fill_(0.2);
                AdapterIO.Save(_adapterDir, model, settings, dir);
            }
            _server = await OpenAiServer.StartAsync(new ServeOptions
            {
                ModelDirectory = dir,
                ModelId = ModelId,
                Adapters = [new AdapterSource(AdapterName, _adapterDir)],
                Host = "127.0.0.1",
                Port = 0,
                ApiKey = Key,
                Template = Template,
                MaxTokensLimit = MaxTokensLimit,
                MaxRequestBytes = MaxRequestBytes,
            }, TextWriter.Null);
            return _server;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<ChatClient> Chat(string model = ModelId, string key = Key) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri((await Server()).Url + "/v1") });

    public async Task<HttpClient> Http(string? key = Key)
    {
        var http = new HttpClient { BaseAddress = new Uri((await Server()).Url) };
        if (key != null) http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return http;
    }

    /// <summary>What TextGenerator produces for the chat prompt the template renders, greedy, on a separately loaded model.</summary>
    public Reference ChatReference(IReadOnlyList<(string Role, string Content)> messages, int maxTokens, string? adapter = null,
        IReadOnlyList<string>? stop = null)
    {
        var tok = Tokenizers.HfTokenizer.Load(ModelDir);
        var prompter = ChatPrompter.For(tok, ModelDir, Template);
        var json = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
        int[] ids = prompter.Encode(json);
        return Generate(ids, maxTokens, adapter, stop, eos => prompter.StopIds(eos));
    }

    /// <summary>What TextGenerator produces for a plain prompt (BOS added), greedy.</summary>
    public Reference CompletionReference(string prompt, int maxTokens)
    {
        var tok = Tokenizers.HfTokenizer.Load(ModelDir);
        return Generate(tok.Encode(prompt, addSpecialTokens: true), maxTokens, null, null, eos => eos);
    }

    Reference Generate(int[] ids, int maxTokens, string? adapter, IReadOnlyList<string>? stop, Func<IReadOnlySet<int>, IReadOnlySet<int>> stops)
    {
        using var scope = torch.NewDisposeScope();
        using var bundle = ModelBundle.Load(ModelDir);
        using var adapted = adapter != null ? AdapterIO.Load(AdapterDir, ModelDir) : null;
        var model = adapted?.Model ?? bundle.Model;
        var generator = new TextGenerator(model, bundle.Tokenizer);
        var options = bundle.Generation.ToSamplingOptions() with
        {
            Temperature = 0,
            MaxNewTokens = maxTokens,
            StopTokenIds = stops(new HashSet<int>(bundle.StopTokenIds)),
            StopStrings = stop ?? [],
        };
        string text = string.Concat(generator.Stream(ids, options));
        return new Reference(text, generator.FinishReason, ids.Length, generator.LastStats.GeneratedTokens);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server != null) await _server.DisposeAsync();
        if (_adapterDir != null) Directory.Delete(_adapterDir, true);
    }
}

/// <summary>Independent expectation: text, finish reason and token counts from TextGenerator.</summary>
public sealed record Reference(string Text, string FinishReason, int PromptTokens, int CompletionTokens);
