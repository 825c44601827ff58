using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace TuneSharp.Graders.Tests;

/// <summary>
/// A real HTTP server on loopback that answers like the OpenAI API ("the internet" double): each request is recorded
/// and answered by the given function. Used where the behaviour under test needs replies a real model cannot be made
/// to give (a given score, 429 / 503 with Retry-After). The end-to-end test against `tunesharp serve` itself lives in
/// tests/TuneSharp.Serve.Tests (ScoreModelGraderServeTests), which already carries the model runtime.
/// </summary>
internal sealed class OpenAiDouble : IAsyncDisposable
{
    readonly HttpListener _listener = new();
    readonly Task _loop;
    int _calls, _inFlight, _peak;

    public OpenAiDouble(Func<int, JsonObject, Reply> reply)
    {
        _reply = reply;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/v1");
        _loop = Task.Run(Serve);
    }

    public Uri BaseUrl { get; }
    readonly Func<int, JsonObject, Reply> _reply;
    public ConcurrentQueue<Request> Requests { get; } = new();

    public sealed record Request(string Path, string? Authorization, JsonObject Body);

    /// <summary>Most requests in flight at once (a reply's <see cref="Reply.Delay"/> holds its request open).</summary>
    public int PeakInFlight => Volatile.Read(ref _peak);

    public sealed record Reply(int Status, string Body, string? RetryAfter = null)
    {
        public TimeSpan Delay { get; init; }

        public static Reply Chat(string content) => new(200, new JsonObject
        {
            ["id"] = "chatcmpl-double", ["object"] = "chat.completion", ["model"] = "judge",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["finish_reason"] = "stop",
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
            }),
        }.ToJsonString());

        public static Reply Error(int status, string message, string? retryAfter = null) =>
            new(status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error" } }.ToJsonString(), retryAfter);
    }

    async Task Serve()
    {
        var handlers = new List<Task>();
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { break; }
            handlers.Add(Task.Run(() => Handle(ctx))); // requests are served concurrently, as a real API does
        }
        try { await Task.WhenAll(handlers); }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
    }

    async Task Handle(HttpListenerContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
        var body = JsonNode.Parse(await reader.ReadToEndAsync()) as JsonObject ?? [];
        Requests.Enqueue(new Request(ctx.Request.Url!.AbsolutePath, ctx.Request.Headers["Authorization"], body));
        var reply = _reply(Interlocked.Increment(ref _calls), body);
        int now = Interlocked.Increment(ref _inFlight);
        for (int seen; (seen = Volatile.Read(ref _peak)) < now && Interlocked.CompareExchange(ref _peak, now, seen) != seen;) { }
        if (reply.Delay > TimeSpan.Zero) await Task.Delay(reply.Delay);
        Interlocked.Decrement(ref _inFlight);
        ctx.Response.StatusCode = reply.Status;
        ctx.Response.ContentType = "application/json";
        if (reply.RetryAfter != null) ctx.Response.Headers["Retry-After"] = reply.RetryAfter;
        byte[] bytes = Encoding.UTF8.GetBytes(reply.Body);
        await ctx.Response.OutputStream.WriteAsync(bytes);
        ctx.Response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
