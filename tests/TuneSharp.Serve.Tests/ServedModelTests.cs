using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Serve.Tests;

/// <summary>Adapters that the switchable projections cannot serve fail at start-up, naming the file.</summary>
public sealed class ServedModelTests
{
    [Fact]
    public void AdapterForAnotherModel_FailsNamingTheFileAndTensor()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        // lora_llama_tied was made for a 2-layer model with FFN 96; stories260K has 5 layers and FFN 172.
        var e = Assert.Throws<InvalidDataException>(() =>
            ServedModel.Load(dir, [new AdapterSource("other", Fixtures.Repo("peft/lora_llama_tied"))]));
        Assert.Contains("adapter_model.safetensors", e.Message);
        Assert.Contains("'other'", e.Message);
        Assert.Contains("down_proj.lora_A.weight", e.Message);
    }

    [Fact]
    public void DoraAdapter_IsRefusedWithAHint()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        var e = Assert.Throws<NotSupportedException>(() =>
            ServedModel.Load(dir, [new AdapterSource("dora", Fixtures.Repo("peft/dora_llama_tied"))]));
        Assert.Contains("use_dora", e.Message);
        Assert.Contains("export merge", e.Message);
    }

    [Fact]
    public void SameAdapterNameTwice_IsRefused()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        var e = Assert.Throws<ArgumentException>(() => ServedModel.Load(dir,
            [new AdapterSource("a", Fixtures.Repo("peft/lora_llama_tied")), new AdapterSource("a", Fixtures.Repo("peft/lora_llama_tied"))]));
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public async Task AdapterNamedLikeTheBaseModel_IsRefusedAtStartup()
    {
        string dir = Fixtures.Get("models/stories260K-hf");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => OpenAiServer.StartAsync(new ServeOptions
        {
            ModelDirectory = dir, ModelId = "tiny", Port = 0, Adapters = [new AdapterSource("tiny", Fixtures.Repo("peft/lora_llama_tied"))],
        }, TextWriter.Null, TestContext.Current.CancellationToken));
        Assert.Contains("'tiny' is the base model's id", e.Message);
    }

    [Fact]
    public async Task MaxModelLength_BoundsPromptPlusMaxTokens()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await OpenAiServer.StartAsync(new ServeOptions
        {
            ModelDirectory = Fixtures.Get("models/stories260K-hf"), ModelId = "tiny", Port = 0, MaxModelLength = 64, MaxBatchSize = 1,
        }, TextWriter.Null, ct);
        Assert.Equal(64, server.Worker.Info.ContextLength);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var body = new System.Text.Json.Nodes.JsonObject { ["model"] = "tiny", ["prompt"] = "Once", ["max_tokens"] = 100 };
        using var response = await http.PostAsync("/v1/completions", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), ct);
        string text = await response.Content.ReadAsStringAsync(ct);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("context_length_exceeded", text);
        Assert.Contains("64", text);
    }
}
