using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Serve.Tests;

/// <summary>The real server on loopback, driven by the official OpenAI .NET client (2.15.0) and raw HTTP.</summary>
public sealed class OpenAiServerTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static readonly (string, string)[] Hello = [("system", "You tell stories."), ("user", "Tell me about a cat.")];

    static ChatMessage[] ToClient(IEnumerable<(string Role, string Content)> messages) =>
        [.. messages.Select(m => m.Role == "system" ? (ChatMessage)new SystemChatMessage(m.Content) : new UserChatMessage(m.Content))];

    static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task Chat_NonStreaming_EqualsTextGeneratorOnTheRenderedPrompt()
    {
        var client = await fx.Chat();
        var expected = fx.ChatReference(Hello, 40);
        ChatCompletion reply = await client.CompleteChatAsync(ToClient(Hello), Greedy(40), TestContext.Current.CancellationToken);

        Assert.Equal(expected.Text, reply.Content[0].Text);
        Assert.NotEmpty(expected.Text);
        Assert.Equal(ChatMessageRole.Assistant, reply.Role);
        Assert.StartsWith("chatcmpl-", reply.Id);
        Assert.Equal(ServerFixture.ModelId, reply.Model);
        Assert.True(reply.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-10));
        Assert.Equal(expected.PromptTokens, reply.Usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, reply.Usage.OutputTokenCount);
        Assert.Equal(expected.PromptTokens + expected.CompletionTokens, reply.Usage.TotalTokenCount);
        Assert.Equal(expected.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop, reply.FinishReason);
    }

    [Fact]
    public async Task Chat_Streaming_ConcatenatesToTheSameText_WithUsage()
    {
        var client = await fx.Chat();
        var expected = fx.ChatReference(Hello, 40);
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(ToClient(Hello), Greedy(40), TestContext.Current.CancellationToken))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(expected.Text, text.ToString());
        Assert.True(updates > 3, $"{updates} updates");
        Assert.Equal(expected.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop, finish);
        if (usage != null) Assert.Equal(expected.CompletionTokens, usage.OutputTokenCount); // the client asks for usage itself
    }

    [Fact]
    public async Task Chat_RawSse_HasRoleFirst_ChunksOfOneId_AndEndsWithDone()
    {
        using var http = await fx.Http();
        var expected = fx.ChatReference(Hello, 30);
        var body = Body(Hello, 30, stream: true, extra: o => o["stream_options"] = new JsonObject { ["include_usage"] = true });
        using var response = await http.PostAsync("/v1/chat/completions", body, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.EndsWith("data: [DONE]\n\n", raw);
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!.AsObject()).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());
        Assert.StartsWith("chatcmpl-", (string?)chunks[0]["id"]);
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        string text = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0)
            .Select(c => (string?)c["choices"]![0]!["delta"]!["content"] ?? ""));
        Assert.Equal(expected.Text, text);
        // The finish reason comes in the chunk before the usage chunk; usage (only) in the last one.
        Assert.Equal(expected.FinishReason, (string?)chunks[^2]["choices"]![0]!["finish_reason"]);
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(expected.CompletionTokens, (int)chunks[^1]["usage"]!["completion_tokens"]!);
        Assert.Equal(expected.PromptTokens, (int)chunks[^1]["usage"]!["prompt_tokens"]!);
        Assert.All(chunks[..^1], c => Assert.Null(c["usage"]));
    }

    [Fact]
    public async Task StopSequence_CutsTheText_AndFinishesWithStop()
    {
        var client = await fx.Chat();
        var full = fx.ChatReference(Hello, 40);
        // A stop string taken from the middle of the greedy reply: the reply must end right before it.
        string stop = full.Text.Substring(full.Text.Length / 2, 3);
        int at = full.Text.IndexOf(stop, StringComparison.Ordinal);
        var options = Greedy(40);
        options.StopSequences.Add(stop);
        ChatCompletion reply = await client.CompleteChatAsync(ToClient(Hello), options, TestContext.Current.CancellationToken);
        Assert.Equal(full.Text[..at], reply.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, reply.FinishReason);
        Assert.Equal(fx.ChatReference(Hello, 40, stop: [stop]).CompletionTokens, reply.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task MaxTokens_FinishesWithLength_AndCountsTokens()
    {
        var client = await fx.Chat();
        var expected = fx.ChatReference(Hello, 7);
        Assert.Equal("length", expected.FinishReason); // the reference does not stop within 7 tokens
        ChatCompletion reply = await client.CompleteChatAsync(ToClient(Hello), Greedy(7), TestContext.Current.CancellationToken);
        Assert.Equal(ChatFinishReason.Length, reply.FinishReason);
        Assert.Equal(7, reply.Usage.OutputTokenCount);
        Assert.Equal(expected.PromptTokens, reply.Usage.InputTokenCount);
        Assert.Equal(expected.Text, reply.Content[0].Text);
    }

    [Fact]
    public async Task Completions_PlainPrompt_EqualsTextGenerator_StreamedAndNot()
    {
        using var http = await fx.Http();
        const string prompt = "Once upon a time";
        var expected = fx.CompletionReference(prompt, 25);
        var request = new JsonObject { ["model"] = ServerFixture.ModelId, ["prompt"] = prompt, ["max_tokens"] = 25, ["temperature"] = 0 };
        var whole = await PostJson(http, "/v1/completions", request);
        Assert.Equal("text_completion", (string?)whole["object"]);
        Assert.StartsWith("cmpl-", (string?)whole["id"]);
        Assert.Equal(expected.Text, (string?)whole["choices"]![0]!["text"]);
        Assert.Equal(expected.FinishReason, (string?)whole["choices"]![0]!["finish_reason"]);
        Assert.Equal(expected.PromptTokens, (int)whole["usage"]!["prompt_tokens"]!);

        request["stream"] = true;
        using var response = await http.PostAsync("/v1/completions", Json(request), TestContext.Current.CancellationToken);
        string raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.EndsWith("data: [DONE]\n\n", raw);
        string streamed = string.Concat(raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[..^1]
            .Select(e => (string?)JsonNode.Parse(e["data: ".Length..])!["choices"]![0]!["text"]));
        Assert.Equal(expected.Text, streamed);
    }

    [Fact]
    public async Task TextParts_AreJoined_AsOneStringContent()
    {
        using var http = await fx.Http();
        var expected = fx.ChatReference([("user", "Tell me about a cat.")], 12);
        var request = new JsonObject
        {
            ["model"] = ServerFixture.ModelId, ["max_completion_tokens"] = 12, ["temperature"] = 0, ["some_future_field"] = 1,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Tell me " }, new JsonObject { ["type"] = "text", ["text"] = "about a cat." }),
            }),
        };
        var reply = await PostJson(http, "/v1/chat/completions", request);
        Assert.Equal(expected.Text, (string?)reply["choices"]![0]!["message"]!["content"]);
    }

    [Fact]
    public async Task WrongOrMissingKey_Is401()
    {
        var client = await fx.Chat(key: "wrong");
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(ToClient(Hello), Greedy(4), TestContext.Current.CancellationToken));
        Assert.Equal(401, e.Status);

        using var http = await fx.Http(key: null);
        using var response = await http.GetAsync("/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_api_key", (string?)error["code"]);
    }

    [Fact]
    public async Task BadJson_Is400_InOpenAiErrorShape()
    {
        using var http = await fx.Http();
        using var response = await http.PostAsync("/v1/chat/completions",
            new StringContent("{\"model\": \"x\", \"messages\": [", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"));
        Assert.DoesNotContain("   at ", (string?)error["message"]); // no stack trace frames
        Assert.DoesNotContain("Exception", (string?)error["message"]);
    }

    [Theory]
    [InlineData("""{"model": "stories260K-hf"}""", "messages")]
    [InlineData("""{"model": "stories260K-hf", "messages": []}""", "messages")]
    [InlineData("""{"model": "stories260K-hf", "messages": [{"role": "wizard", "content": "hi"}]}""", "messages[0].role")]
    [InlineData("""{"model": "stories260K-hf", "messages": [{"role": "user", "content": "hi"}], "n": 2}""", "n")]
    [InlineData("""{"model": "stories260K-hf", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}""", "temperature")]
    [InlineData("""{"model": "stories260K-hf", "messages": [{"role": "user", "content": "hi"}], "top_p": 1.5}""", "top_p")]
    [InlineData("""{"model": "stories260K-hf", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 301}""", "max_tokens")]
    [InlineData("""{"model": "stories260K-hf", "messages": [{"role": "user", "content": "hi"}], "stop": [1]}""", "stop")]
    [InlineData("""{"messages": [{"role": "user", "content": "hi"}]}""", "model")]
    public async Task InvalidRequest_Is400_NamingTheField(string json, string param)
    {
        using var http = await fx.Http();
        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (string?)(await ErrorOf(response))["param"]);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    public async Task BodyNotUtf8_Is400_InvalidEncoding_NamingTheByte(string path)
    {
        using var http = await fx.Http();
        byte[] prefix = Encoding.UTF8.GetBytes($"{{\"model\": \"{ServerFixture.ModelId}\", \"prompt\": \"");
        byte[] body = [.. prefix, 0xC3, 0x28, .. "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"u8];
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using var response = await http.PostAsync(path, content, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_encoding", (string?)error["code"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Contains($"byte {prefix.Length}", (string?)error["message"]);
    }

    [Theory]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    [InlineData("Bearer")]
    public async Task BearerScheme_IsCaseInsensitive(string scheme)
    {
        using var http = await fx.Http(key: null);
        http.DefaultRequestHeaders.Authorization = new(scheme, ServerFixture.Key);
        using var response = await http.GetAsync("/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/v1/chat/completions", "POST")]
    [InlineData("PUT", "/v1/completions", "POST")]
    [InlineData("DELETE", "/v1/chat/completions", "POST")]
    [InlineData("POST", "/v1/models", "GET")]
    public async Task OtherMethodOnAKnownRoute_Is405_WithAllow(string method, string path, string allowed)
    {
        using var http = await fx.Http();
        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        var error = await ErrorOf(response);
        Assert.Equal("method_not_allowed", (string?)error["code"]);
        Assert.Contains(allowed, (string?)error["message"]);
    }

    [Fact]
    public async Task UnknownPath_Is404_UnknownUrl()
    {
        using var http = await fx.Http();
        using var response = await http.GetAsync("/v1/embeddings", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("unknown_url", (string?)(await ErrorOf(response))["code"]);
    }

    [Fact]
    public async Task BodyAboveTheLimit_Is413()
    {
        using var http = await fx.Http();
        string big = new('a', ServerFixture.MaxRequestBytes + 10);
        var request = new JsonObject { ["model"] = ServerFixture.ModelId, ["prompt"] = big };
        using var response = await http.PostAsync("/v1/completions", Json(request), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", (string?)(await ErrorOf(response))["code"]);
    }

    [Fact]
    public async Task UnknownModel_Is404_ModelNotFound()
    {
        var client = await fx.Chat(model: "no-such-model");
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(ToClient(Hello), Greedy(4), TestContext.Current.CancellationToken));
        Assert.Equal(404, e.Status);
        using var http = await fx.Http();
        using var response = await http.PostAsync("/v1/completions",
            Json(new JsonObject { ["model"] = "no-such-model", ["prompt"] = "hi" }), TestContext.Current.CancellationToken);
        Assert.Equal("model_not_found", (string?)(await ErrorOf(response))["code"]);
    }

    [Fact]
    public async Task Models_ListsTheBaseAndEveryAdapter()
    {
        var server = await fx.Server();
        var models = new OpenAIModelClient(new ApiKeyCredential(ServerFixture.Key), new OpenAIClientOptions { Endpoint = new Uri(server.Url + "/v1") });
        OpenAIModelCollection list = await models.GetModelsAsync(TestContext.Current.CancellationToken);
        Assert.Equal([ServerFixture.ModelId, ServerFixture.AdapterName], list.Select(m => m.Id).ToArray());
    }

    [Fact]
    public async Task Adapter_ChosenByModel_EqualsThePeftModel_AndDiffersFromTheBase()
    {
        var adapterClient = await fx.Chat(model: ServerFixture.AdapterName);
        var baseClient = await fx.Chat();
        var expected = fx.ChatReference(Hello, 30, adapter: ServerFixture.AdapterName);
        ChatCompletion adapted = await adapterClient.CompleteChatAsync(ToClient(Hello), Greedy(30), TestContext.Current.CancellationToken);
        ChatCompletion plain = await baseClient.CompleteChatAsync(ToClient(Hello), Greedy(30), TestContext.Current.CancellationToken);
        Assert.Equal(expected.Text, adapted.Content[0].Text);
        Assert.Equal(ServerFixture.AdapterName, adapted.Model);
        Assert.NotEqual(adapted.Content[0].Text, plain.Content[0].Text);
        // Switching back to the base gives the base output again.
        Assert.Equal(fx.ChatReference(Hello, 30).Text, plain.Content[0].Text);
    }

    [Fact]
    public async Task ConcurrentRequests_AllCompleteWithTheirOwnResults()
    {
        var server = await fx.Server();
        string[] users = ["Tell me about a cat.", "Tell me about a dog.", "Where is the ball?", "Sing a song."];
        var jobs = users.SelectMany(u => new[] { ServerFixture.ModelId, ServerFixture.AdapterName }.Select(async model =>
        {
            var client = await fx.Chat(model: model);
            ChatCompletion reply = await client.CompleteChatAsync([new UserChatMessage(u)], Greedy(20), TestContext.Current.CancellationToken);
            return (u, model, reply.Content[0].Text);
        })).ToList();
        var results = await Task.WhenAll(jobs);
        Assert.Equal(8, results.Length);
        foreach (var (u, model, text) in results)
            Assert.Equal(fx.ChatReference([("user", u)], 20, adapter: model == ServerFixture.ModelId ? null : model).Text, text);
    }

    [Fact]
    public async Task ThousandTokensThroughTheServer_LeaveNoLiveTensorsOnTheWorker()
    {
        var server = await fx.Server();
        using var http = await fx.Http();
        async Task<int> Run(string model)
        {
            var request = new JsonObject { ["model"] = model, ["prompt"] = "Once upon a time", ["max_tokens"] = 250, ["temperature"] = 1.0, ["seed"] = 7 };
            var reply = await PostJson(http, "/v1/completions", request);
            return (int)reply["usage"]!["completion_tokens"]!;
        }
        await Run(ServerFixture.ModelId); // warm-up
        long before = await server.Worker.InvokeAsync(_ => LiveTensors.Count);
        int tokens = 0;
        for (int i = 0; tokens < 1000; i++) tokens += await Run(i % 2 == 0 ? ServerFixture.ModelId : ServerFixture.AdapterName);
        long after = await server.Worker.InvokeAsync(_ => LiveTensors.Count);
        Assert.True(tokens >= 1000);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task ConcurrentBatch_WithADisconnectMidStream_OthersKeepTheirOutput_AndNoLiveTensorsRemain()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await fx.Server();
        using var http = await fx.Http();
        await server.Worker.InvokeAsync(_ => 0);
        long before = await server.Worker.InvokeAsync(_ => LiveTensors.Count);
        string[] prompts = ["Once upon a time", "Lily", "The dog ran", "Tom and Sue"];
        var expected = prompts.Select(p => fx.CompletionReference(p, 60).Text).ToArray();

        // A stream that the client drops after its first piece, while the others generate in the same batch.
        var message = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = Json(new JsonObject { ["model"] = ServerFixture.ModelId, ["prompt"] = "Once", ["max_tokens"] = 250, ["temperature"] = 0, ["stream"] = true }),
        };
        var dropped = Task.Run(async () =>
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(ct));
        }, ct); // disposing the response aborts the connection
        var replies = await Task.WhenAll(prompts.Select(p => PostJson(http, "/v1/completions",
            new JsonObject { ["model"] = ServerFixture.ModelId, ["prompt"] = p, ["max_tokens"] = 60, ["temperature"] = 0 })));
        await dropped;

        for (int i = 0; i < prompts.Length; i++) Assert.Equal(expected[i], (string?)replies[i]["choices"]![0]!["text"]);
        while (server.Worker.LiveJobs > 0) await server.Worker.InvokeAsync(_ => 0); // the dropped stream leaves at the next step
        Assert.Equal(before, await server.Worker.InvokeAsync(_ => LiveTensors.Count));
    }

    [Fact]
    public async Task ClientDisconnect_CancelsTheQueuedGeneration()
    {
        var ct = TestContext.Current.CancellationToken; // read here: the worker thread has no test context
        var server = await fx.Server();
        using var http = await fx.Http();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Worker.JobCancelled += _ => cancelled.TrySetResult();
        int before = server.Worker.CancelledJobs;
        // Hold the worker so the request waits in the queue, then disconnect after its first SSE line (the role chunk).
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = server.Worker.InvokeAsync(_ => { gate.Task.Wait(ct); return 0; });
        var message = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body(Hello, 200, stream: true) };
        using (var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(ct));
        } // disposing the response aborts the connection
        await cancelled.Task.WaitAsync(TimeSpan.FromMinutes(1), ct); // a safety net, not a timing assertion
        gate.SetResult();
        await held;
        await server.Worker.InvokeAsync(_ => 0); // runs after the cancelled job
        Assert.Equal(before + 1, server.Worker.CancelledJobs);
    }

    static StringContent Json(JsonObject o) => new(o.ToJsonString(), Encoding.UTF8, "application/json");

    static StringContent Body(IEnumerable<(string Role, string Content)> messages, int maxTokens, bool stream, Action<JsonObject>? extra = null)
    {
        var o = new JsonObject
        {
            ["model"] = ServerFixture.ModelId, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = stream,
            ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
        };
        extra?.Invoke(o);
        return Json(o);
    }

    static async Task<JsonObject> PostJson(HttpClient http, string path, JsonObject request)
    {
        using var response = await http.PostAsync(path, Json(request), TestContext.Current.CancellationToken);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    static async Task<JsonObject> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject();
        return body["error"]!.AsObject();
    }
}
