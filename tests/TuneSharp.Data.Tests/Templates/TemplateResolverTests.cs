using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Data.Tests.Templates;

public sealed class TemplateResolverTests
{
    static HfTokenizer Stories => HfTokenizer.Load(Fixtures.Get("models/stories260K-hf")); // no chat_template
    static HfTokenizer Qwen3 => HfTokenizer.Load(Fixtures.Get("tokenizers/qwen3"));       // has one

    [Fact]
    public void Auto_IsTheTokenizersOwn_OrNoneWithoutOne()
    {
        foreach (string? choice in new[] { null, "auto" })
        {
            var own = TemplateResolver.Resolve(choice, Qwen3)!;
            Assert.Equal(TemplateOrigin.Tokenizer, own.Origin);
            Assert.Equal(Qwen3.ChatTemplate, own.Template.Source);
            Assert.Equal("model (tokenizer_config.json chat_template)", own.Description);
            Assert.Null(TemplateResolver.Resolve(choice, Stories));
        }
        Assert.StartsWith("adapter ", TemplateResolver.Resolve(null, Qwen3, "adapter")!.Description);
    }

    [Fact]
    public void BuiltInName_WinsOverTheTokenizersOwn()
    {
        var t = TemplateResolver.Resolve("mistral", Qwen3)!;
        Assert.Equal(TemplateOrigin.BuiltIn, t.Origin);
        Assert.Equal(ChatTemplate.BuiltIn("mistral").Source, t.Template.Source);
        Assert.Equal("mistral (built-in)", t.Description);
    }

    [Fact]
    public void JinjaFile_IsRead_AndAMissingOneNamesThePath()
    {
        string file = Path.Combine(Path.GetTempPath(), $"tunesharp-{Guid.NewGuid():N}.jinja");
        File.WriteAllText(file, "{% for m in messages %}{{ m['content'] }}{% endfor %}");
        try
        {
            var t = TemplateResolver.Resolve(file, Stories)!;
            Assert.Equal(TemplateOrigin.File, t.Origin);
            Assert.Equal(File.ReadAllText(file), t.Template.Source);
        }
        finally { File.Delete(file); }
        var e = Assert.Throws<FileNotFoundException>(() => TemplateResolver.Resolve(file, Stories));
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void UnknownName_ListsTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => TemplateResolver.Resolve("mistrall", Stories));
        Assert.Contains("'mistrall'", e.Message);
        Assert.Contains("chatml", e.Message);
        Assert.Contains(".jinja", e.Message);
    }

    [Fact]
    public void Require_NamesTheFolderAndTheOption()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TemplateResolver.Require(null, Stories, "/models/x", "--template"));
        Assert.Contains("/models/x", e.Message);
        Assert.Contains("--template", e.Message);
    }

    [Fact]
    public void Prompter_UserMessage_RendersLikeApplyChatTemplate()
    {
        var tok = Stories;
        var prompter = ChatPrompter.For(tok, "/x", "mistral");
        string text = prompter.Render(ChatPrompter.UserMessage("Hi", "Be brief."));
        Assert.Equal("<s>[INST] Be brief.\n\nHi [/INST]", text);
        Assert.Equal(tok.Encode(text, addSpecialTokens: false), prompter.Encode(ChatPrompter.UserMessage("Hi", "Be brief.")));
        Assert.Equal(tok.EosTokenId, prompter.EndOfTurnTokenId); // Mistral ends a turn with </s>
    }
}
