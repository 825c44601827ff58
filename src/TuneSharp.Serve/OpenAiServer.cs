using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TuneSharp.Inference;
using static TorchSharp.torch;

namespace TuneSharp.Serve;

/// <summary>How `tunesharp serve` runs.</summary>
public sealed record ServeOptions
{
    /// <summary>The resolved model folder.</summary>
    public required string ModelDirectory { get; init; }
    /// <summary>The id clients put in <c>model</c> for the base model.</summary>
    public required string ModelId { get; init; }
    public IReadOnlyList<AdapterSource> Adapters { get; init; } = [];
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 = any free port (the bound URL is in <see cref="OpenAiServer.Url"/>).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>When set, every /v1 request needs <c>Authorization: Bearer {ApiKey}</c>.</summary>
    public string? ApiKey { get; init; }
    public ScalarType DType { get; init; } = ScalarType.Float32;
    /// <summary>The chat template choice (auto/null, a built-in name or a .jinja file) for the base and every adapter.</summary>
    public string? Template { get; init; }
    /// <summary>Largest max_tokens a request may ask for (also the default when it asks for none).</summary>
    public int MaxTokensLimit { get; init; } = 2048;
    public long MaxRequestBytes { get; init; } = 1 << 20;
    /// <summary>Most requests decoded together by continuous batching (1 = one request at a time).</summary>
    public int MaxBatchSize { get; init; } = 8;
    /// <summary>Most positions (prompt + completion) of a request; null = the model's context, at most <see cref="TensorWorker.DefaultMaxModelLength"/>.</summary>
    public int? MaxModelLength { get; init; }
    /// <summary>On stop, how long in-flight requests may keep generating before they are cancelled (503 server_shutting_down).</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The OpenAI-compatible HTTP server: Kestrel + minimal APIs in front of one <see cref="TensorWorker"/>.
/// <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c>, <c>POST /v1/completions</c> (each optionally streamed as SSE).
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    /// <summary>Compact JSON with non-ASCII and quotes written as themselves (still valid JSON in an SSE line).</summary>
    static readonly System.Text.Json.JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    readonly WebApplication _app;
    readonly TensorWorker _worker;
    readonly ServeOptions _options;
    readonly TextWriter _log;

    OpenAiServer(WebApplication app, TensorWorker worker, ServeOptions options, TextWriter log, string url)
    {
        (_app, _worker, _options, _log, Url) = (app, worker, options, log, url);
    }

    /// <summary>The bound base URL, e.g. http://127.0.0.1:41234 (the real port when <see cref="ServeOptions.Port"/> is 0).</summary>
    public string Url { get; }
    public TensorWorker Worker => _worker;

    /// <summary>Loads the model on a new tensor worker thread, then starts listening. <paramref name="log"/> gets one line per failed request.</summary>
    public static async Task<OpenAiServer> StartAsync(ServeOptions options, TextWriter log, CancellationToken ct = default)
    {
        if (options.MaxTokensLimit < 1) throw new ArgumentException($"--max-tokens-limit must be >= 1 (got {options.MaxTokensLimit})");
        if (options.MaxRequestBytes < 1) throw new ArgumentException($"--max-request-bytes must be >= 1 (got {options.MaxRequestBytes})");
        if (options.ShutdownGrace < TimeSpan.Zero) throw new ArgumentException($"--shutdown-grace must be >= 0 (got {options.ShutdownGrace.TotalSeconds} s)");
        if (options.Adapters.FirstOrDefault(a => a.Name == options.ModelId) is { } clash)
            throw new ArgumentException($"--adapter {clash.Name}={clash.Directory}: the name '{clash.Name}' is the base model's id; requests for it " +
                "would never reach the adapter. Choose another adapter name (or set the base id with --served-model-name)");
        var address = ParseHost(options.Host);
        if (options.MaxModelLength < 1) throw new ArgumentException($"--max-model-len must be >= 1 (got {options.MaxModelLength})");
        if (options.MaxBatchSize < 1) throw new ArgumentException($"--max-batch-size must be >= 1 (got {options.MaxBatchSize})");
        var worker = await TensorWorker.StartAsync(() => ServedModel.Load(options.ModelDirectory, options.Adapters, options.DType, options.Template),
            options.MaxBatchSize, options.MaxModelLength);
        try
        {
            foreach (string note in worker.Info.Notes) log.WriteLine($"note: {note}");
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            // Signals belong to the caller (tunesharp's Interrupts, or the embedding host): no ConsoleLifetime handlers.
            builder.Services.AddSingleton<IHostLifetime, CallerOwnsSignals>();
            // Stop() bounds the wait itself (grace, then cancel, then a margin); the host must not give up earlier.
            builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + StopMargin);
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.Listen(address, options.Port);
                k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
                k.AddServerHeader = false;
            });
            var app = builder.Build();
            OpenAiServer? server = null;
            app.Use((ctx, next) => server!.Guard(ctx, next));
            var routes = new Route[]
            {
                new("/v1/models", HttpMethods.Get, ctx => server!.Models(ctx)),
                new("/v1/chat/completions", HttpMethods.Post, ctx => server!.Complete(ctx, chat: true)),
                new("/v1/completions", HttpMethods.Post, ctx => server!.Complete(ctx, chat: false)),
            };
            foreach (var route in routes) app.MapMethods(route.Path, [route.Method], route.Handler);
            app.MapFallback(ctx => throw NoRoute(ctx, routes));
            await app.StartAsync(ct);
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            server = new OpenAiServer(app, worker, options, log, url.Replace("[::]", "localhost", StringComparison.Ordinal));
            return server;
        }
        catch
        {
            worker.Dispose();
            throw;
        }
    }

    /// <summary>After the grace period, how long cancelled requests get to write their error before Kestrel aborts them.</summary>
    static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(10);

    static ApiException ShuttingDown() => new(503, "the server is shutting down", ApiException.Server, code: "server_shutting_down");

    int _stopping; // 0 running, 1 stopping
    Task? _stopped;

    /// <summary>
    /// Stops the server: no new connections (and 503 for new requests on open ones); in-flight requests may finish within
    /// <see cref="ServeOptions.ShutdownGrace"/>, then their generations are cancelled and they end with a 503
    /// server_shutting_down error (an error event and [DONE] for a stream); then the tensor worker leaves libtorch and frees
    /// the model on its own thread. Idempotent; every caller waits for the same stop.
    /// </summary>
    public Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 0) _stopped = Stop();
        return _stopped!;
    }

    async Task Stop()
    {
        try
        {
            using var abort = new CancellationTokenSource(_options.ShutdownGrace + StopMargin);
            var http = _app.StopAsync(abort.Token); // stops accepting at once, then waits for in-flight requests
            if (await Task.WhenAny(http, Task.Delay(_options.ShutdownGrace)) != http)
            {
                _log.WriteLine($"stopping: cancelling {_worker.LiveJobs} request(s) still generating after the {_options.ShutdownGrace.TotalSeconds:0.#} s grace period");
                _worker.AbortAll(ShuttingDown);
            }
            await http;
            await _app.DisposeAsync();
        }
        finally
        {
            _worker.Dispose(); // joins the worker thread, which disposes the model: nothing is left inside libtorch
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Waits until <paramref name="ct"/> is cancelled (Ctrl+C / SIGTERM), then stops (see <see cref="StopAsync"/>).</summary>
    public async Task RunUntilCancelledAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await StopAsync();
    }

    /// <summary>A host lifetime that installs no SIGINT/SIGTERM handlers: stopping is <see cref="StopAsync"/>'s job.</summary>
    sealed class CallerOwnsSignals : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>One endpoint: a path and its one method.</summary>
    sealed record Route(string Path, string Method, RequestDelegate Handler);

    /// <summary>404 for an unknown path; 405 with an Allow header for a known path asked with another method.</summary>
    static ApiException NoRoute(HttpContext ctx, IEnumerable<Route> routes)
    {
        string path = ctx.Request.Path.Value?.TrimEnd('/') ?? "";
        var allowed = routes.Where(r => string.Equals(r.Path, path, StringComparison.OrdinalIgnoreCase)).Select(r => r.Method).ToList();
        if (allowed.Count == 0) return new ApiException(404, $"unknown endpoint {ctx.Request.Method} {ctx.Request.Path}", code: "unknown_url");
        ctx.Response.Headers.Allow = string.Join(", ", allowed);
        return new ApiException(405, $"{ctx.Request.Path} does not support {ctx.Request.Method}; use {string.Join(" or ", allowed)}", code: "method_not_allowed");
    }

    static IPAddress ParseHost(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "+" => IPAddress.Any,
        _ when IPAddress.TryParse(host, out var ip) => ip,
        _ => throw new ArgumentException($"--host '{host}' is not an IP address (or localhost)"),
    };

    /// <summary>API key check, and every error turned into OpenAI's JSON shape (never a stack trace).</summary>
    async Task Guard(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            if (Volatile.Read(ref _stopping) != 0)
            {
                ctx.Response.Headers.Connection = "close";
                throw ShuttingDown();
            }
            if (_options.ApiKey is { } key)
            {
                // RFC 9110 section 11.1: the auth scheme is case-insensitive ("bearer", "BEARER").
                string auth = ctx.Request.Headers.Authorization.ToString().Trim();
                if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || !FixedTimeEquals(auth["Bearer ".Length..].Trim(), key))
                    throw new ApiException(401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'.", code: "invalid_api_key");
            }
            await next(ctx);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // the client went away; its generation was cancelled through RequestAborted
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var error = e as ApiException ?? Unexpected(e);
            if (error.Status >= 500) _log.WriteLine($"error: {ctx.Request.Method} {ctx.Request.Path}: {e.Message}");
            ctx.Response.StatusCode = error.Status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(error.ToJson().ToJsonString(Json));
        }
    }

    static ApiException Unexpected(Exception e) => e switch
    {
        BadHttpRequestException { StatusCode: 413 } => new ApiException(413, "the request body is too large", code: "request_too_large"),
        BadHttpRequestException b => new ApiException(b.StatusCode, b.Message),
        _ => new ApiException(500, "internal error while handling the request", ApiException.Server),
    };

    static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    Task Models(HttpContext ctx)
    {
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var data = new JsonArray();
        foreach (var id in _worker.Info.AdapterNames.Prepend(_options.ModelId))
            data.Add(new JsonObject { ["id"] = id, ["object"] = "model", ["created"] = created, ["owned_by"] = "tunesharp" });
        return WriteJson(ctx, new JsonObject { ["object"] = "list", ["data"] = data });
    }

    async Task Complete(HttpContext ctx, bool chat)
    {
        var body = await ReadBody(ctx);
        var request = chat ? OpenAiRequests.ParseChat(body) : OpenAiRequests.ParseCompletion(body);
        string? adapter = request.Model == _options.ModelId ? null
            : _worker.Info.AdapterNames.Contains(request.Model) ? request.Model
            : throw new ApiException(404, $"The model '{request.Model}' does not exist; this server has {string.Join(", ", _worker.Info.AdapterNames.Prepend(_options.ModelId))}",
                param: "model", code: "model_not_found");
        var prompter = chat ? ChatPrompter(adapter) : null;
        int[] ids = prompter != null ? ChatPromptIds(prompter, request.Messages!) : _worker.Info.Tokenizer.Encode(request.Prompt!, addSpecialTokens: true);
        var options = Sampling(request.Sampling, ids.Length, prompter);
        var job = _worker.Enqueue(new GenerationRequest(adapter, ids, options), ctx.RequestAborted);
        var reply = new Reply(chat, request.Model);
        if (request.Stream) await Stream(ctx, job, reply, request.IncludeUsage);
        else
        {
            var text = new StringBuilder();
            await foreach (var piece in job.Pieces.ReadAllAsync(ctx.RequestAborted)) text.Append(piece);
            await WriteJson(ctx, reply.Whole(text.ToString(), await job.Result));
        }
    }

    /// <summary>The chat format for the requested model: an adapter's trained template, or the base's.</summary>
    Data.Templates.ChatPrompter ChatPrompter(string? adapter) => _worker.Info.PrompterFor(adapter)
        ?? throw new ApiException(400, $"{_options.ModelId} has no chat template (tokenizer_config.json chat_template); " +
            "use /v1/completions or start the server with --template", param: "messages", code: "no_chat_template");

    static int[] ChatPromptIds(Data.Templates.ChatPrompter prompter, JsonArray messages)
    {
        try
        {
            return prompter.Encode(messages);
        }
        catch (Exception e) when (e is not ApiException and not OutOfMemoryException)
        {
            // templates reject conversations they cannot render (raise_exception), e.g. roles out of order
            throw ApiException.BadField("messages", $"the chat template cannot render these messages: {e.Message}");
        }
    }

    /// <summary>generation_config defaults, overridden by the request; stops at EOS and the template's end-of-turn token.</summary>
    SamplingOptions Sampling(SamplingFields f, int promptTokens, Data.Templates.ChatPrompter? prompter)
    {
        bool chat = prompter != null;
        var info = _worker.Info;
        int room = info.ContextLength - promptTokens;
        if (room < 1)
            throw new ApiException(400, $"the prompt has {promptTokens} tokens but this server's context length is {info.ContextLength}",
                param: chat ? "messages" : "prompt", code: "context_length_exceeded");
        if (f.MaxTokens is { } max)
        {
            if (max > _options.MaxTokensLimit)
                throw ApiException.BadField("max_tokens", $"'max_tokens' = {max} is above this server's limit of {_options.MaxTokensLimit}");
            if (max > room)
                throw new ApiException(400, $"the prompt ({promptTokens} tokens) plus max_tokens ({max}) exceeds this server's context length of {info.ContextLength}",
                    param: "max_tokens", code: "context_length_exceeded");
        }
        var defaults = info.Generation.ToSamplingOptions();
        return defaults with
        {
            MaxNewTokens = f.MaxTokens ?? Math.Min(_options.MaxTokensLimit, room),
            // OpenAI's default temperature is 1 (sampling); a model's generation_config may choose otherwise.
            Temperature = f.Temperature ?? (info.Generation.DoSample ? defaults.Temperature : 1.0),
            TopP = f.TopP ?? defaults.TopP,
            TopK = f.TopK ?? (f.Temperature != null || f.TopP != null ? 0 : defaults.TopK),
            MinP = f.MinP ?? defaults.MinP,
            RepetitionPenalty = f.RepetitionPenalty ?? defaults.RepetitionPenalty,
            Seed = f.Seed,
            StopTokenIds = prompter?.StopIds(info.EosIds) ?? info.EosIds,
            StopStrings = f.Stop,
        };
    }

    static async Task Stream(HttpContext ctx, GenerationJob job, Reply reply, bool includeUsage)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        var ct = ctx.RequestAborted;
        async Task Send(JsonObject chunk)
        {
            await ctx.Response.WriteAsync($"data: {chunk.ToJsonString(Json)}\n\n", ct);
            await ctx.Response.Body.FlushAsync(ct);
        }
        if (reply.Chat) await Send(reply.Chunk("", null, includeUsage, role: true));
        try
        {
            await foreach (var piece in job.Pieces.ReadAllAsync(ct)) await Send(reply.Chunk(piece, null, includeUsage));
            var result = await job.Result;
            await Send(reply.Chunk("", result.FinishReason, includeUsage));
            if (includeUsage) await Send(reply.UsageChunk(result));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Headers are sent: the error goes in the stream, as OpenAI does.
            var error = e as ApiException ?? new ApiException(500, "internal error during generation", ApiException.Server);
            await Send(error.ToJson());
        }
        await ctx.Response.WriteAsync("data: [DONE]\n\n", ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    static Task WriteJson(HttpContext ctx, JsonObject json)
    {
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json.ToJsonString(Json), ctx.RequestAborted);
    }

    /// <summary>The body, at most <see cref="ServeOptions.MaxRequestBytes"/> (413 above).</summary>
    async Task<byte[]> ReadBody(HttpContext ctx)
    {
        long limit = _options.MaxRequestBytes;
        if (ctx.Request.ContentLength > limit) throw TooLarge(limit);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + n > limit) throw TooLarge(limit);
            buffer.Write(chunk, 0, n);
        }
        var body = buffer.ToArray();
        if (InvalidUtf8At(body) is { } offset)
            throw new ApiException(400, $"the request body is not valid UTF-8 (invalid byte sequence at byte {offset})", code: "invalid_encoding");
        return body;
    }

    /// <summary>The byte offset of the first invalid UTF-8 sequence, or null when the whole body is valid.</summary>
    static int? InvalidUtf8At(byte[] body)
    {
        if (System.Text.Unicode.Utf8.IsValid(body)) return null;
        var chars = new char[body.Length];
        System.Text.Unicode.Utf8.ToUtf16(body, chars, out int read, out _, replaceInvalidSequences: false);
        return read;
    }

    static ApiException TooLarge(long limit) =>
        new(413, $"the request body is larger than this server's limit of {limit} bytes", code: "request_too_large");
}
