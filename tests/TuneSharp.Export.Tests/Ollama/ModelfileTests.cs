using TuneSharp.Export.Ollama;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Export.Tests.Ollama;

public sealed class ModelfileTests
{
    [Theory]
    [InlineData("chatml.jinja", "chatml")]
    [InlineData("qwen2.5-instruct.jinja", "chatml")]
    [InlineData("llama-3-instruct.jinja", "llama3")]
    [InlineData("llama-2-chat.jinja", "llama2")]
    [InlineData("mistral-instruct.jinja", "mistral")]
    [InlineData("gemma-it.jinja", "gemma")]
    [InlineData("phi-3.jinja", "phi3")]
    [InlineData("zephyr.jinja", "zephyr")]
    [InlineData("granite-3.0-instruct.jinja", "granite")]
    [InlineData("vicuna.jinja", null)]
    public void Recognize_RealTemplates(string file, string? expected)
    {
        string source = File.ReadAllText(Fixtures.Get($"chat-templates/{file}"));
        Assert.Equal(expected, Modelfile.Recognize(source, "<s>", "</s>")?.Name);
    }

    [Fact]
    public void Llama3_ModelfileText()
    {
        var tok = HfTokenizer.Load(Fixtures.Get("tokenizers/llama3"));
        var result = Modelfile.Build("model.gguf", tok.ChatTemplate, tok.BosToken, tok.EosToken, null);
        Assert.Empty(result.Warnings);
        Assert.Equal(
            "FROM ./model.gguf\n"
            + "TEMPLATE \"\"\"{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n\"\"\"\n"
            + "PARAMETER stop \"<|start_header_id|>\"\nPARAMETER stop \"<|end_header_id|>\"\nPARAMETER stop \"<|eot_id|>\"\n",
            result.Text);
    }

    [Fact]
    public void Qwen3_ChatMlModelfile_WithSamplingDefaults()
    {
        var tok = HfTokenizer.Load(Fixtures.Get("tokenizers/qwen3"));
        string gen = Path.GetTempFileName();
        try
        {
            File.WriteAllText(gen, """{"do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05}""");
            var result = Modelfile.Build("q.gguf", tok.ChatTemplate, tok.BosToken, tok.EosToken, gen);
            Assert.Equal(
                "FROM ./q.gguf\n"
                + "TEMPLATE \"\"\"{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n\"\"\"\n"
                + "PARAMETER stop \"<|im_start|>\"\nPARAMETER stop \"<|im_end|>\"\n"
                + "PARAMETER temperature 0.6\nPARAMETER top_p 0.95\nPARAMETER top_k 20\nPARAMETER repeat_penalty 1.05\n",
                result.Text);
            File.WriteAllText(gen, """{"do_sample": false, "temperature": 0.6}""");
            Assert.EndsWith("PARAMETER temperature 0\n", Modelfile.Build("q.gguf", tok.ChatTemplate, null, "<|im_end|>", gen).Text);
        }
        finally { File.Delete(gen); }
    }

    [Fact]
    public void UnknownTemplate_PlainTemplateAndWarningNamingIt()
    {
        var result = Modelfile.Build("m.gguf", "{% for m in messages %}### {{ m['content'] }}\n{% endfor %}", "<s>", "</s>", null);
        Assert.Null(result.Format);
        Assert.Contains("{{ .Prompt }}", result.Text);
        Assert.DoesNotContain("PARAMETER stop", result.Text);
        Assert.Contains("### {{ m['content'] }}", Assert.Single(result.Warnings));
    }
}
