using TuneSharp.Data.Templates;
using TuneSharp.Export.Ollama;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Export.Tests.Ollama;

public sealed class ModelfileTests
{
    static ModelfileTokenizer Llama(string? template) => new(template, "<s>", "</s>", AddBos: true);

    /// <summary>
    /// Most of the collection's templates are laid out over several lines; tokenizer configs hold them with the layout
    /// removed, as the collection's README says to load them. Qwen2.5's trims its layout with '-' and keeps real
    /// newlines inside its strings, so it is read as it is.
    /// </summary>
    static string Collection(string file)
    {
        string text = File.ReadAllText(Fixtures.Get($"chat-templates/{file}"));
        return file.StartsWith("qwen", StringComparison.Ordinal) ? text : text.Replace("    ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("chatml.jinja", "chatml")]
    [InlineData("qwen2.5-instruct.jinja", "chatml")]
    [InlineData("llama-3-instruct.jinja", "llama3")]
    [InlineData("llama-2-chat.jinja", "llama2")]
    [InlineData("mistral-instruct.jinja", "mistral-system-first")]
    [InlineData("gemma-it.jinja", "gemma")]
    [InlineData("phi-3.jinja", "phi3")]
    [InlineData("zephyr.jinja", "zephyr")]
    [InlineData("granite-3.0-instruct.jinja", "granite")]
    [InlineData("vicuna.jinja", null)]
    public void RealTemplates_GetTheLayoutThatRendersExactlyTheSame(string file, string? expected)
    {
        var result = Modelfile.Build("m.gguf", Llama(Collection(file)), null);
        Assert.Equal(expected, result.Format?.Name);
        Assert.Equal(expected != null, result.Text.Contains("TEMPLATE", StringComparison.Ordinal));
    }

    [Fact]
    public void LayoutWhitespace_IsNotIgnored_SoAMultiLineTemplateGetsNoTemplate()
    {
        // As a file, the Mistral template renders the newlines of its layout: no Ollama layout writes those, and the
        // exporter no longer pretends one does (it used to compare with whitespace removed).
        var result = Modelfile.Build("m.gguf", Llama(File.ReadAllText(Fixtures.Get("chat-templates/mistral-instruct.jinja"))), null);
        Assert.Null(result.Format);
        Assert.DoesNotContain("TEMPLATE", result.Text);
        Assert.DoesNotContain("PARAMETER stop", result.Text);
        Assert.Contains(result.Warnings, w => w.Contains("no TEMPLATE written", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("chatml", "chatml")]
    [InlineData("llama3", "llama3")]
    [InlineData("mistral", "mistral")]
    [InlineData("alpaca", "alpaca")]
    [InlineData("plain", "plain")]
    public void BuiltInTemplates_AreExportedExactly(string builtIn, string format)
    {
        var result = Modelfile.Build("m.gguf", Llama(ChatTemplate.BuiltIn(builtIn).Source), null);
        Assert.Equal(format, result.Format?.Name);
        Assert.Null(result.SystemPrompt);
    }

    [Fact]
    public void Mistral_SystemTextOpensTheFirstInst_AsTheHfTemplateWritesIt()
    {
        var result = Modelfile.Build("m.gguf", Llama(ChatTemplate.BuiltIn("mistral").Source), null);
        string prompt = OllamaPrompt.Render(GoTemplate.Parse(result.Format!.GoTemplate),
            [new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello"), new("user", "Bye")], null);
        Assert.Equal("[INST] Be brief.\n\nHi [/INST] Hello</s>[INST] Bye [/INST]", prompt);
    }

    /// <summary>SmolLM2-Instruct's template (the quickstart model): ChatML with a default system prompt.</summary>
    const string SmolLm2 =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
        + "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    [Fact]
    public void SmolLm2_DefaultSystemPrompt_BecomesTheSystemLine()
    {
        var result = Modelfile.Build("m.gguf", new ModelfileTokenizer(SmolLm2, "<|im_start|>", "<|im_end|>", AddBos: false), null);
        Assert.Equal("chatml", result.Format?.Name);
        Assert.Equal("You are a helpful AI assistant named SmolLM, trained by Hugging Face", result.SystemPrompt);
        Assert.Contains("\nSYSTEM \"\"\"You are a helpful AI assistant named SmolLM, trained by Hugging Face\"\"\"\n", result.Text);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Qwen25_DefaultSystemPrompt_BecomesTheSystemLine()
    {
        var result = Modelfile.Build("m.gguf", new ModelfileTokenizer(File.ReadAllText(Fixtures.Get("chat-templates/qwen2.5-instruct.jinja")),
            null, "<|im_end|>", AddBos: false), null);
        Assert.Equal("chatml", result.Format?.Name);
        Assert.Equal("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", result.SystemPrompt);
    }

    [Fact]
    public void DefaultSystemPrompt_NoneForTemplatesWithoutOne()
    {
        foreach (string name in ChatTemplate.BuiltInNames)
            Assert.Null(Modelfile.Build("m.gguf", Llama(ChatTemplate.BuiltIn(name).Source), null).SystemPrompt);
    }

    /// <summary>Llama-3.1-style: a system header with dates before the system text, which no layout writes.</summary>
    [Fact]
    public void UnknownTemplate_NoTemplateNoStops_AndAWarning()
    {
        const string llama31 =
            "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}"
            + "{%- else %}{%- set system_message = '' %}{%- endif %}"
            + "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + 'Cutting Knowledge Date: December 2023\\n\\n' + system_message + '<|eot_id|>' }}"
            + "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}"
            + "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
        var result = Modelfile.Build("m.gguf", new ModelfileTokenizer(llama31, "<|begin_of_text|>", "<|eot_id|>", AddBos: true), null);
        Assert.Null(result.Format);
        Assert.Null(result.SystemPrompt);
        Assert.Equal("FROM ./m.gguf\n", result.Text);
        Assert.Contains(result.Warnings, w => w.Contains("Ollama picks a template from the GGUF", StringComparison.Ordinal));
    }

    /// <summary>This Llama-3 tokenizer does not add BOS itself (add_bos_token false in the GGUF), so the TEMPLATE writes the one the HF template writes.</summary>
    [Fact]
    public void Llama3_ModelfileText()
    {
        var tok = HfTokenizer.Load(Fixtures.Get("tokenizers/llama3"));
        Assert.False(tok.AddBosToken);
        var result = Modelfile.Build("model.gguf", new ModelfileTokenizer(tok.ChatTemplate, tok.BosToken, tok.EosToken, tok.AddBosToken), null);
        Assert.Empty(result.Warnings);
        Assert.Equal(
            "FROM ./model.gguf\n"
            + "TEMPLATE \"\"\"<|begin_of_text|>{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n\"\"\"\n"
            + "PARAMETER stop \"<|start_header_id|>\"\nPARAMETER stop \"<|end_header_id|>\"\nPARAMETER stop \"<|eot_id|>\"\n",
            result.Text);
    }

    [Fact]
    public void Qwen3_ChatMlModelfile_WithSamplingDefaults()
    {
        var tok = HfTokenizer.Load(Fixtures.Get("tokenizers/qwen3"));
        var t = new ModelfileTokenizer(tok.ChatTemplate, tok.BosToken, tok.EosToken, tok.AddBosToken);
        string gen = Path.GetTempFileName();
        try
        {
            File.WriteAllText(gen, """{"do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "repetition_penalty": 1.05}""");
            var result = Modelfile.Build("q.gguf", t, gen);
            Assert.Equal(
                "FROM ./q.gguf\n"
                + "TEMPLATE \"\"\"{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n\"\"\"\n"
                + "PARAMETER stop \"<|im_start|>\"\nPARAMETER stop \"<|im_end|>\"\n"
                + "PARAMETER temperature 0.6\nPARAMETER top_p 0.95\nPARAMETER top_k 20\nPARAMETER repeat_penalty 1.05\n",
                result.Text);
            File.WriteAllText(gen, """{"do_sample": false, "temperature": 0.6}""");
            Assert.EndsWith("PARAMETER temperature 0\n", Modelfile.Build("q.gguf", t, gen).Text);
        }
        finally { File.Delete(gen); }
    }

    [Fact]
    public void ChatMl_OnATokenizerThatAddsBos_WarnsThatLlamaCppPrependsIt()
    {
        var result = Modelfile.Build("m.gguf", Llama(ChatTemplate.BuiltIn("chatml").Source), null);
        Assert.Equal("chatml", result.Format?.Name);
        Assert.Contains(result.Warnings, w => w.Contains("start every prompt with BOS '<s>'", StringComparison.Ordinal));
    }

    [Fact]
    public void ModelfileName_FollowsTheGgufFile()
    {
        Assert.Equal("model-q8_0.Modelfile", Modelfile.FileNameFor("/x/model-q8_0.gguf"));
        Assert.Equal("m.Modelfile", Modelfile.FileNameFor("m.gguf"));
    }
}
