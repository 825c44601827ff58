using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TuneSharp.Cli.Commands;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Cli.Tests;

/// <summary>`tunesharp serve` as a real child process: reads the bound URL from stdout, makes requests, stops it.</summary>
public class ServeCommandTests
{
    [Fact]
    public async Task Serve_PrintsTheUrl_AnswersAChatRequest_AndChecksTheKey()
    {
        var ct = TestContext.Current.CancellationToken;
        string dir = Fixtures.Get("models/stories260K-hf");
        using var serve = CliRunner.Start(null, "serve", "--model", dir, "--port", "0", "--template", "chatml", "--api-key", "k1",
            "--served-model-name", "tiny");
        string url = await WaitForUrl(serve, ct);
        Assert.StartsWith("http://127.0.0.1:", url);

        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var request = new JsonObject
        {
            ["model"] = "tiny", ["max_tokens"] = 5, ["temperature"] = 0,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
        };
        using (var unauthorized = await http.PostAsync("/v1/chat/completions", Content(request), ct))
            Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);

        http.DefaultRequestHeaders.Authorization = new("Bearer", "k1");
        using var response = await http.PostAsync("/v1/chat/completions", Content(request), ct);
        string body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, body);
        var reply = JsonNode.Parse(body)!;
        Assert.Equal("tiny", (string?)reply["model"]);
        Assert.Equal(5, (int)reply["usage"]!["completion_tokens"]!);
        Assert.Equal("length", (string?)reply["choices"]![0]!["finish_reason"]);

        serve.Process.Kill(entireProcessTree: true);
        await serve.Process.WaitForExitAsync(ct);
    }

    /// <summary>
    /// A signal while a streaming and a non-streaming request generate: with a long grace both finish complete; with no
    /// grace both end with the documented 503 server_shutting_down (the stream as an error event, then [DONE]). Either way
    /// the process exits with the signal's code, without a crash. Two rounds per case: the reported crash was intermittent.
    /// </summary>
    [Theory]
    [InlineData(CliRunner.Running.SIGTERM, 143, 600)]
    [InlineData(CliRunner.Running.SIGINT, 130, 600)]
    [InlineData(CliRunner.Running.SIGTERM, 143, 0)]
    public async Task Signal_WhileRequestsGenerate_EndsThemAsDocumented_AndExitsWithTheSignalsCode(int signal, int code, int grace)
    {
        var ct = TestContext.Current.CancellationToken;
        string dir = Fixtures.Get("models/stories260K-hf");
        for (int round = 0; round < 2; round++)
        {
            using var serve = CliRunner.Start(null, "serve", "--model", dir, "--port", "0", "--served-model-name", "tiny",
                "--shutdown-grace", grace.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var http = new HttpClient { BaseAddress = new Uri(await WaitForUrl(serve, ct)) };
            var whole = http.PostAsync("/v1/completions", Content(Completion(stream: false)), ct);
            var message = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Content(Completion(stream: true)) };
            using var streamed = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
            using var reader = new StreamReader(await streamed.Content.ReadAsStreamAsync(ct));
            var events = new List<string> { await NextEvent(reader, ct) }; // generating now
            serve.Signal(signal);
            for (string? e; (e = await NextEvent(reader, ct)) != "" && e != "[DONE]";) events.Add(e);
            using var reply = await whole;
            string body = await reply.Content.ReadAsStringAsync(ct);

            Assert.True(serve.WaitForExit() == code, $"exit {serve.Process.ExitCode}: {serve.Stderr}");
            serve.AssertNoCrash();
            Assert.Contains("stopped", serve.Stderr);
            var last = JsonNode.Parse(events[^1])!;
            if (grace > 0)
            {
                Assert.True(reply.IsSuccessStatusCode, body);
                Assert.Equal(40, (int)JsonNode.Parse(body)!["usage"]!["completion_tokens"]!);
                Assert.Equal("length", (string?)last["choices"]![0]!["finish_reason"]);
            }
            else
            {
                // The stream was generating when the signal came: cancelled. The other request may have finished before it.
                Assert.Equal("server_shutting_down", (string?)last["error"]!["code"]);
                if (reply.IsSuccessStatusCode) Assert.Equal(40, (int)JsonNode.Parse(body)!["usage"]!["completion_tokens"]!);
                else
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.StatusCode);
                    Assert.Equal("server_shutting_down", (string?)JsonNode.Parse(body)!["error"]!["code"]);
                }
            }
        }
    }

    [Fact]
    public async Task SecondSignal_WhileRequestsFinish_ExitsAtOnceWith143()
    {
        var ct = TestContext.Current.CancellationToken;
        string dir = Fixtures.Get("models/stories260K-hf");
        using var serve = CliRunner.Start(null, "serve", "--model", dir, "--port", "0", "--served-model-name", "tiny", "--shutdown-grace", "600");
        using var http = new HttpClient { BaseAddress = new Uri(await WaitForUrl(serve, ct)) };
        var message = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Content(Completion(stream: true, maxTokens: 500)) };
        using var streamed = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
        using var reader = new StreamReader(await streamed.Content.ReadAsStreamAsync(ct));
        await NextEvent(reader, ct);
        serve.Signal(CliRunner.Running.SIGTERM);
        serve.WaitUntil(() => serve.Stderr.Contains("stopping cleanly", StringComparison.Ordinal), "the first signal to be taken");
        serve.Signal(CliRunner.Running.SIGTERM);
        Assert.True(serve.WaitForExit() == 143, $"exit {serve.Process.ExitCode}: {serve.Stderr}");
        Assert.Contains("again: exiting now", serve.Stderr);
        serve.AssertNoCrash();
    }

    [Theory]
    [InlineData("'tiny' is the base model's id", "tiny")]
    [InlineData("adapter name 'a' is given twice", "a", "a")]
    public async Task Serve_AdapterNameClash_IsRefusedAtStartup(string message, params string[] names)
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        string adapter = Fixtures.Repo("peft/lora_llama_tied");
        var stderr = new StringWriter();
        string[] args = ["serve", "--model", dir, "--served-model-name", "tiny", "--port", "0",
            .. names.SelectMany(n => new[] { "--adapter", $"{n}={adapter}" })];
        int exit = await CliApp.RunAsync(args, new StringWriter(), stderr);
        Assert.Equal(CliApp.Failed, exit);
        Assert.Contains(message, stderr.ToString());
    }

    [Fact]
    public async Task Serve_BadAdapterArgument_FailsWithUsageMessage()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        var stderr = new StringWriter();
        int exit = await CliApp.RunAsync(["serve", "--model", dir, "--adapter", "no-equals-sign"], new StringWriter(), stderr);
        Assert.Equal(CliApp.Failed, exit);
        Assert.Contains("name=dir", stderr.ToString());
    }

    [Fact]
    public void ParseAdapter_SplitsAtTheFirstEquals()
    {
        var a = ServeCommand.ParseAdapter("sql=out/a=b");
        Assert.Equal("sql", a.Name);
        Assert.Equal("out/a=b", a.Directory);
    }

    static JsonObject Completion(bool stream, int maxTokens = 40) => new()
    {
        ["model"] = "tiny", ["prompt"] = "Once upon a time", ["max_tokens"] = maxTokens, ["temperature"] = 0,
        ["stream"] = stream, ["stop"] = new JsonArray(),
    };

    /// <summary>The next SSE event's data ("" at the end of the stream).</summary>
    static async Task<string> NextEvent(StreamReader reader, CancellationToken ct)
    {
        for (string? line; (line = await reader.ReadLineAsync(ct)) != null;)
            if (line.StartsWith("data: ", StringComparison.Ordinal)) return line["data: ".Length..];
        return "";
    }

    static StringContent Content(JsonObject o) => new(o.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>Waits for the "listening on URL" line (the process prints it once the model is loaded and the port bound).</summary>
    static async Task<string> WaitForUrl(CliRunner.Running serve, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2); // a safety net for a broken build, not a timing assertion
        while (DateTime.UtcNow < deadline)
        {
            foreach (var line in serve.Stdout.Split('\n'))
                if (line.StartsWith("listening on ", StringComparison.Ordinal)) return line["listening on ".Length..].Trim();
            if (serve.Process.HasExited) Assert.Fail($"serve exited with {serve.Process.ExitCode}: {serve.Stderr}");
            await Task.Delay(50, ct); // polling the child's output
        }
        Assert.Fail($"serve printed no URL: {serve.Stdout} {serve.Stderr}");
        return "";
    }
}
