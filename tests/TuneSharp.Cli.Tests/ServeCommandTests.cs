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
