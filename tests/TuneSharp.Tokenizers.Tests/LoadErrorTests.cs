using TuneSharp.Tokenizers;
using Xunit;

namespace TuneSharp.Tokenizers.Tests;

public sealed class LoadErrorTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("tunesharp-tok-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void MissingTokenizerJson_ThrowsFileNotFound_NamingThePath()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(dir));
        Assert.Contains(Path.Combine(dir, "tokenizer.json"), ex.Message);
    }

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    [InlineData("special_tokens_map.json")]
    public void TruncatedJson_NamesTheFile(string file)
    {
        Write();
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token": "a", "eos_token": "b"}""");
        File.WriteAllText(Path.Combine(dir, "special_tokens_map.json"), """{"bos_token": "a"}""");
        string path = Path.Combine(dir, file);
        string text = File.ReadAllText(path);
        File.WriteAllText(path, text[..(text.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.Contains(path, ex.Message);
        Assert.Contains("invalid JSON at line", ex.Message);
    }

    const string Minimal = """
        {"added_tokens": [], "normalizer": NORM, "pre_tokenizer": PRE, "post_processor": null, "decoder": null,
         "model": {"type": "MODEL", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}
        """;

    void Write(string norm = "null", string pre = "null", string model = "BPE") =>
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Minimal.Replace("NORM", norm).Replace("PRE", pre).Replace("MODEL", model));

    [Fact]
    public void MinimalBpe_Loads_AndMerges()
    {
        Write();
        var tok = HfTokenizer.Load(dir);
        Assert.Equal([2, 0], tok.Encode("aba"));
        Assert.Equal(3, tok.VocabSize);
    }

    [Theory]
    [InlineData("null", "null", "WordPiece", "model.type 'WordPiece'")]
    [InlineData("{\"type\": \"Lowercase\"}", "null", "BPE", "normalizer.type 'Lowercase'")]
    [InlineData("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}]}", "null", "BPE", "normalizer.normalizers[0].type 'NFKC'")]
    [InlineData("null", "{\"type\": \"Whitespace\"}", "BPE", "pre_tokenizer.type 'Whitespace'")]
    [InlineData("null", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Removed\", \"invert\": false}", "BPE", "pre_tokenizer.behavior 'Removed'")]
    public void UnsupportedComponent_ThrowsNotSupported_NamingKeyAndValue(string norm, string pre, string model, string expected)
    {
        Write(norm, pre, model);
        var ex = Assert.Throws<NotSupportedException>(() => HfTokenizer.Load(dir));
        Assert.Contains("tokenizer.json", ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
