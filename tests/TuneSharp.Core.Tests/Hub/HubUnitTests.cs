using System.Text;
using TuneSharp.Core.Hub;
using Xunit;

namespace TuneSharp.Core.Tests.Hub;

public sealed class HubUnitTests
{
    [Fact]
    public async Task LocalDirectory_IsReturnedUnchanged_WithoutNetwork()
    {
        string dir = Directory.CreateTempSubdirectory("tunesharp-local-").FullName;
        try
        {
            // An unroutable endpoint: any request would fail.
            var options = new HubOptions("http://127.0.0.1:1", dir, null, Offline: false);
            Assert.Equal(dir, await ModelLocator.ResolveAsync(dir, options, ct: TestContext.Current.CancellationToken));
        }
        finally { Directory.Delete(dir); }
    }

    [Theory]
    [InlineData("./no/such/model")]
    [InlineData("/no/such/model")]
    [InlineData("runs/exp1/final")]
    public async Task MissingPathLikeInput_IsDirectoryNotFound(string input)
    {
        var options = new HubOptions("http://127.0.0.1:1", Path.GetTempPath(), null, Offline: true);
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => ModelLocator.ResolveAsync(input, options, ct: TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("org/na me")]
    [InlineData("org--x/name")]
    [InlineData("org/name.git")]
    [InlineData("-org/name")]
    [InlineData("justaname")]
    [InlineData("org/name@")]
    [InlineData("org/name@../../etc")]
    public async Task InvalidRepoId_IsArgumentException(string input)
    {
        var options = new HubOptions("http://127.0.0.1:1", Path.GetTempPath(), null, Offline: true);
        await Assert.ThrowsAsync<ArgumentException>(() => ModelLocator.ResolveAsync(input, options, ct: TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("HuggingFaceTB/SmolLM2-135M", true)]
    [InlineData("Qwen/Qwen2.5-0.5B@main", true)]
    [InlineData("meta-llama/Llama-3.2-1B@refs/pr/12", true)]
    [InlineData("org/name@0123456789abcdef0123456789abcdef01234567", true)]
    [InlineData("gpt2", false)]
    [InlineData("./models/x", false)]
    [InlineData("/abs/path", false)]
    [InlineData("a/b/c", false)]
    [InlineData("org/na me", false)]
    public void LooksLikeRepoId(string input, bool expected) => Assert.Equal(expected, ModelLocator.LooksLikeRepoId(input));

    [Fact]
    public void RepoRef_CacheFolderName_MatchesHuggingfaceHub()
    {
        var repo = RepoRef.Parse("meta-llama/Llama-3.2-1B@refs/pr/12");
        Assert.Equal("models--meta-llama--Llama-3.2-1B", repo.CacheFolderName);
        Assert.Equal("refs/pr/12", repo.Revision);
        Assert.Equal("main", RepoRef.Parse("a/b").Revision);
    }

    [Fact]
    public void GitBlobSha1_MatchesGit()
    {
        // Values printed by `git hash-object` (the empty blob is git's well-known e69de29).
        Assert.Equal("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", BlobHash.GitBlobSha1([]));
        Assert.Equal("3b18e512dba79e4c8300dd08aeb37f8e728b8dad", BlobHash.GitBlobSha1(Encoding.ASCII.GetBytes("hello world\n")));
    }

    [Theory]
    [InlineData("\"abc123\"", "abc123")]
    [InlineData("W/\"abc123\"", "abc123")]
    [InlineData("abc123", "abc123")]
    public void NormalizeEtag_StripsWeakMarkerAndQuotes(string raw, string expected) => Assert.Equal(expected, BlobHash.NormalizeEtag(raw));

    [Theory]
    [InlineData("model.safetensors", true)]
    [InlineData("model-00001-of-00002.safetensors", true)]
    [InlineData("model.safetensors.index.json", true)]
    [InlineData("config.json", true)]
    [InlineData("tokenizer.model", true)]
    [InlineData("merges.txt", true)]
    [InlineData("sub/dir/config.json", true)]
    [InlineData("pytorch_model.bin", false)]
    [InlineData("flax_model.msgpack", false)]
    [InlineData("tf_model.h5", false)]
    [InlineData("onnx/model.onnx", false)]
    [InlineData("README.md", false)]
    [InlineData(".gitattributes", false)]
    public void DefaultAllowPatterns(string path, bool kept) => Assert.Equal(kept, AllowPatterns.Keep(path, AllowPatterns.Default));

    [Fact]
    public void FromEnvironment_FollowsHuggingfaceHubPrecedence()
    {
        var env = new Dictionary<string, string> { ["HF_HOME"] = "/data/hf", ["HF_HUB_OFFLINE"] = "1" };
        var o = HubOptions.FromEnvironment(n => env.GetValueOrDefault(n));
        Assert.Equal("/data/hf/hub", o.CacheDir);
        Assert.Equal("https://huggingface.co", o.Endpoint);
        Assert.True(o.Offline);
        Assert.Null(o.Token); // no HF_TOKEN and no /data/hf/token file

        env["HF_HUB_CACHE"] = "/fast/cache";
        env["HF_HUB_OFFLINE"] = "0";
        env["HF_ENDPOINT"] = "https://mirror.example/";
        o = HubOptions.FromEnvironment(n => env.GetValueOrDefault(n));
        Assert.Equal("/fast/cache", o.CacheDir);
        Assert.Equal("https://mirror.example", o.Endpoint);
        Assert.False(o.Offline);

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "hub"),
            HubOptions.FromEnvironment(n => n == "HF_TOKEN" ? "x" : null).CacheDir);
    }

    [Fact]
    public void FromEnvironment_ReadsTheLoginTokenFile()
    {
        string home = Directory.CreateTempSubdirectory("tunesharp-hfhome-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");
            var o = HubOptions.FromEnvironment(n => n == "HF_HOME" ? home : null);
            Assert.Equal("hf_from_file", o.Token);
            Assert.Equal("hf_env", HubOptions.FromEnvironment(n => n switch { "HF_HOME" => home, "HF_TOKEN" => "hf_env", _ => null }).Token);
        }
        finally { Directory.Delete(home, recursive: true); }
    }
}
