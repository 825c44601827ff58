using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TuneSharp.Testing;

/// <summary>One request as the fake hub saw it.</summary>
public sealed record SeenRequest(string Method, string Path, string? Range, string? Authorization);

/// <summary>
/// A real HTTP server on 127.0.0.1 (free port) that serves a folder the way huggingface.co does: the revision API,
/// resolve URLs with X-Repo-Commit and ETag, LFS files (*.safetensors, *.bin) as a 302 to a CDN path with
/// X-Linked-Etag (sha256) and X-Linked-Size, and Range requests on the CDN. Knobs inject the failures the tests need.
/// </summary>
public sealed class FakeHub : IDisposable
{
    public const string RepoId = "test-org/stories260K";
    public const string MainCommit = "0123456789abcdef0123456789abcdef01234567";
    public const string V1Commit = "fedcba9876543210fedcba9876543210fedcba98";

    readonly HttpListener _listener;
    readonly Task _loop;
    int _cutsLeft;
    int _unavailableLeft;

    public FakeHub(string sourceDir)
    {
        foreach (string f in Directory.EnumerateFiles(sourceDir))
            Files[Path.GetFileName(f)] = File.ReadAllBytes(f);
        // A nested file (two levels of snapshot symlink) and a decoy pickle that must never be fetched.
        Files["nested/extra_config.json"] = Encoding.UTF8.GetBytes("{\"nested\": true}\n");
        Files["pytorch_model.bin"] = Encoding.ASCII.GetBytes(new string('x', 4096));
        (_listener, Endpoint) = StartListener();
        _loop = Task.Run(LoopAsync);
    }

    public string Endpoint { get; }
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Revisions { get; } = new() { ["main"] = MainCommit, ["v1"] = V1Commit };
    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    /// <summary>When set, every hub (non-CDN) request must carry <c>Authorization: Bearer {token}</c>, else 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Files listed by the API whose resolve URL answers 404 EntryNotFound.</summary>
    public HashSet<string> MissingOnResolve { get; } = [];

    /// <summary>Serve model.safetensors from the CDN with one byte flipped (same length).</summary>
    public bool CorruptLfs { get; set; }

    /// <summary>Close the connection half-way through the body of the next N full (non-Range) CDN downloads.</summary>
    public int CutNextDownloads { set => _cutsLeft = value; }

    /// <summary>Answer the next N API requests with 503.</summary>
    public int UnavailableNextApiCalls { set => _unavailableLeft = value; }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static byte[] Corrupt(byte[] data)
    {
        byte[] copy = (byte[])data.Clone();
        copy[copy.Length / 2] ^= 0xFF;
        return copy;
    }

    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal) || file.EndsWith(".bin", StringComparison.Ordinal);

    static (HttpListener, string) StartListener()
    {
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, $"http://127.0.0.1:{port}");
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                listener.Close(); // the port was taken between probe and start: pick another
            }
        }
    }

    async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    void Handle(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var resp = ctx.Response;
        string path = Uri.UnescapeDataString(req.Url!.AbsolutePath);
        Requests.Enqueue(new SeenRequest(req.HttpMethod, path, req.Headers["Range"], req.Headers["Authorization"]));
        try
        {
            if (path.StartsWith("/cdn/", StringComparison.Ordinal)) ServeCdn(ctx, path["/cdn/".Length..]);
            else if (RequiredToken != null && req.Headers["Authorization"] != "Bearer " + RequiredToken) Error(resp, 401, "GatedRepo");
            else if (path.StartsWith("/api/models/", StringComparison.Ordinal)) ServeApi(resp, path["/api/models/".Length..]);
            else ServeResolve(ctx, path.TrimStart('/'));
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // the client went away
        }
    }

    void ServeApi(HttpListenerResponse resp, string rest)
    {
        // {org}/{name}/revision/{rev}; rev may itself contain '/' (refs/pr/1)
        string[] parts = rest.Split('/', 4);
        if (parts.Length < 4 || parts[2] != "revision") { Error(resp, 404, null); return; }
        if ($"{parts[0]}/{parts[1]}" != RepoId) { Error(resp, 404, "RepoNotFound"); return; }
        if (Interlocked.Decrement(ref _unavailableLeft) >= 0) { Error(resp, 503, null); return; }
        string? commit = Revisions.TryGetValue(parts[3], out var c) ? c : Revisions.ContainsValue(parts[3]) ? parts[3] : null;
        if (commit == null) { Error(resp, 404, "RevisionNotFound"); return; }
        var body = new { id = RepoId, sha = commit, siblings = Files.Keys.Select(k => new { rfilename = k }).ToArray() };
        Send(resp, 200, JsonSerializer.SerializeToUtf8Bytes(body), head: false);
    }

    void ServeResolve(HttpListenerContext ctx, string rest)
    {
        var resp = ctx.Response;
        // {org}/{name}/resolve/{commit}/{file...}
        string[] parts = rest.Split('/', 5);
        if (parts.Length < 5 || parts[2] != "resolve" || $"{parts[0]}/{parts[1]}" != RepoId) { Error(resp, 404, "RepoNotFound"); return; }
        if (!Revisions.ContainsValue(parts[3])) { Error(resp, 404, "RevisionNotFound"); return; }
        if (!Files.TryGetValue(parts[4], out byte[]? data) || MissingOnResolve.Contains(parts[4])) { Error(resp, 404, "EntryNotFound"); return; }
        resp.AddHeader("X-Repo-Commit", parts[3]);
        if (IsLfs(parts[4]))
        {
            string sha = Sha256(data);
            resp.AddHeader("ETag", "\"" + TuneSharp.Core.Hub.BlobHash.GitBlobSha1(Encoding.ASCII.GetBytes("pointer " + sha)) + "\"");
            resp.AddHeader("X-Linked-Etag", "\"" + sha + "\"");
            resp.AddHeader("X-Linked-Size", data.Length.ToString());
            resp.RedirectLocation = $"{Endpoint}/cdn/{sha}";
            Send(resp, 302, [], head: true);
            return;
        }
        resp.AddHeader("ETag", "W/\"" + TuneSharp.Core.Hub.BlobHash.GitBlobSha1(data) + "\"");
        Send(resp, 200, data, head: ctx.Request.HttpMethod == "HEAD");
    }

    void ServeCdn(HttpListenerContext ctx, string sha)
    {
        var resp = ctx.Response;
        var file = Files.FirstOrDefault(kv => IsLfs(kv.Key) && Sha256(kv.Value) == sha);
        if (file.Key == null) { Error(resp, 404, null); return; }
        byte[] data = CorruptLfs ? Corrupt(file.Value) : file.Value;
        string? range = ctx.Request.Headers["Range"];
        if (range != null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            long from = long.Parse(range["bytes=".Length..^1]);
            if (from >= data.Length) { Error(resp, 416, null); return; }
            resp.AddHeader("Content-Range", $"bytes {from}-{data.Length - 1}/{data.Length}");
            Send(resp, 206, data[(int)from..], head: false);
            return;
        }
        if (Interlocked.Decrement(ref _cutsLeft) >= 0)
        {
            // Announce the full length, send half, then drop the connection.
            resp.StatusCode = 200;
            resp.ContentLength64 = data.Length;
            resp.OutputStream.Write(data, 0, data.Length / 2);
            resp.OutputStream.Flush();
            resp.Abort();
            return;
        }
        Send(resp, 200, data, head: ctx.Request.HttpMethod == "HEAD");
    }

    static void Error(HttpListenerResponse resp, int status, string? errorCode)
    {
        if (errorCode != null) resp.AddHeader("X-Error-Code", errorCode);
        Send(resp, status, Encoding.UTF8.GetBytes($"{{\"error\": \"{errorCode ?? status.ToString()}\"}}"), head: false);
    }

    static void Send(HttpListenerResponse resp, int status, byte[] body, bool head)
    {
        resp.StatusCode = status;
        resp.ContentLength64 = body.Length;
        if (!head) resp.OutputStream.Write(body);
        resp.Close();
    }

    public void Dispose()
    {
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
