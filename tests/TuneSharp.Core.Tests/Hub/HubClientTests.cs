using TuneSharp.Testing;
using System.Text;
using TuneSharp.Core.Hub;
using Xunit;

namespace TuneSharp.Core.Tests.Hub;

/// <summary>End-to-end: real HTTP against <see cref="FakeHub"/>, one temporary cache folder per test.</summary>
public sealed class HubClientTests : IDisposable
{
    static readonly string[] ExpectedFiles =
        ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
         "tokenizer.model", "tokenizer_config.json", "nested/extra_config.json"];

    readonly FakeHub _hub = new(Fixtures.Get("models/stories260K-hf"));
    readonly string _cache = Directory.CreateTempSubdirectory("tunesharp-hub-").FullName;

    public void Dispose()
    {
        _hub.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    HubOptions Options(string? token = null, bool offline = false) =>
        new(_hub.Endpoint, _cache, token, offline) { RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero };

    string RepoDir => Path.Combine(_cache, "models--test-org--stories260K");
    string Snapshot(string commit) => Path.Combine(RepoDir, "snapshots", commit);
    static CancellationToken Ct => TestContext.Current.CancellationToken;

    Task<string> Resolve(string spec, HubOptions? options = null, IProgress<DownloadProgress>? progress = null) =>
        ModelLocator.ResolveAsync(spec, options ?? Options(), progress, Ct);

    SeenRequest[] TakeRequests()
    {
        var seen = new List<SeenRequest>();
        while (_hub.Requests.TryDequeue(out var r)) seen.Add(r);
        return [.. seen];
    }

    static bool IsFileRequest(SeenRequest r) => !r.Path.StartsWith("/api/", StringComparison.Ordinal);

    [Fact]
    public async Task FreshDownload_SnapshotHoldsSourceBytes_RefAndBlobsNamedByEtag()
    {
        string dir = await Resolve(FakeHub.RepoId);

        Assert.Equal(Snapshot(FakeHub.MainCommit), dir);
        var present = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ExpectedFiles.Order(StringComparer.Ordinal), present);
        foreach (string f in ExpectedFiles)
            Assert.Equal(_hub.Files[f], await File.ReadAllBytesAsync(Path.Combine(dir, f), Ct));

        // refs/main holds the bare commit (no newline), as huggingface_hub writes it.
        Assert.Equal(FakeHub.MainCommit, await File.ReadAllTextAsync(Path.Combine(RepoDir, "refs", "main"), Ct));

        // Blob names: sha256 for LFS files, git blob sha1 for the rest; snapshot entries are relative symlinks to them.
        string weightsSha = FakeHub.Sha256(_hub.Files["model.safetensors"]);
        Assert.Equal("../../blobs/" + weightsSha, new FileInfo(Path.Combine(dir, "model.safetensors")).LinkTarget);
        string configSha1 = BlobHash.GitBlobSha1(_hub.Files["config.json"]);
        Assert.Equal("../../blobs/" + configSha1, new FileInfo(Path.Combine(dir, "config.json")).LinkTarget);
        string nestedSha1 = BlobHash.GitBlobSha1(_hub.Files["nested/extra_config.json"]);
        Assert.Equal("../../../blobs/" + nestedSha1, new FileInfo(Path.Combine(dir, "nested", "extra_config.json")).LinkTarget);
        var blobs = Directory.GetFiles(Path.Combine(RepoDir, "blobs")).Select(Path.GetFileName).ToHashSet();
        Assert.Contains(weightsSha, blobs);
        Assert.Contains(configSha1, blobs);
        Assert.Equal(ExpectedFiles.Length, blobs.Count); // no .incomplete left behind

        // The decoy pickle and the licence were never requested.
        var requests = TakeRequests();
        Assert.DoesNotContain(requests, r => r.Path.Contains("pytorch_model.bin", StringComparison.Ordinal));
        Assert.DoesNotContain(requests, r => r.Path.Contains("LICENSE", StringComparison.Ordinal));
        Assert.All(requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task SecondResolve_MakesNoFileRequests()
    {
        string first = await Resolve(FakeHub.RepoId);
        Assert.Contains(TakeRequests(), IsFileRequest);

        string second = await Resolve(FakeHub.RepoId);

        Assert.Equal(first, second);
        var requests = TakeRequests();
        Assert.Single(requests); // the revision API call only
        Assert.DoesNotContain(requests, IsFileRequest);
    }

    [Fact]
    public async Task InterruptedDownload_ResumesWithRangeRequest()
    {
        _hub.CutNextDownloads = 1;

        string dir = await Resolve(FakeHub.RepoId);

        Assert.Equal(_hub.Files["model.safetensors"], await File.ReadAllBytesAsync(Path.Combine(dir, "model.safetensors"), Ct));
        var cdn = TakeRequests().Where(r => r.Method == "GET" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, cdn.Length);
        Assert.Null(cdn[0].Range);
        Assert.NotNull(cdn[1].Range);
        Assert.Matches(@"^bytes=\d+-$", cdn[1].Range!);
        long from = long.Parse(cdn[1].Range!["bytes=".Length..^1]);
        Assert.InRange(from, 1, _hub.Files["model.safetensors"].Length - 1);
    }

    [Fact]
    public async Task PartialFileFromEarlierRun_IsResumedFromItsLength()
    {
        byte[] weights = _hub.Files["model.safetensors"];
        string blobs = Path.Combine(RepoDir, "blobs");
        Directory.CreateDirectory(blobs);
        await File.WriteAllBytesAsync(Path.Combine(blobs, FakeHub.Sha256(weights) + ".incomplete"), weights[..1000], Ct);

        string dir = await Resolve(FakeHub.RepoId);

        Assert.Equal(weights, await File.ReadAllBytesAsync(Path.Combine(dir, "model.safetensors"), Ct));
        var cdn = TakeRequests().Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToArray();
        Assert.Equal("bytes=1000-", Assert.Single(cdn).Range);
    }

    [Fact]
    public async Task CorruptedLfsFile_FailsNamingFileAndBothHashes_LeavesNoSnapshotEntry()
    {
        _hub.CorruptLfs = true;
        byte[] weights = _hub.Files["model.safetensors"];
        string expected = FakeHub.Sha256(weights);
        string actual = FakeHub.Sha256(FakeHub.Corrupt(weights));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Resolve(FakeHub.RepoId));

        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(actual, e.Message);
        Assert.False(File.Exists(Path.Combine(Snapshot(FakeHub.MainCommit), "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(RepoDir, "blobs", expected)));
        Assert.False(File.Exists(Path.Combine(RepoDir, "blobs", expected + ".incomplete")));
        Assert.False(File.Exists(Path.Combine(RepoDir, "refs", "main"))); // the branch never points at a broken snapshot
    }

    [Fact]
    public async Task Offline_WithoutCache_NamesRepoAndCacheFolder_AndSendsNothing()
    {
        var e = await Assert.ThrowsAsync<HubException>(() => Resolve(FakeHub.RepoId, Options(offline: true)));

        Assert.Contains(FakeHub.RepoId, e.Message);
        Assert.Contains(RepoDir, e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains("model.path=<folder>", e.Message); // what to do instead
        Assert.Empty(TakeRequests());
    }

    [Fact]
    public async Task Offline_WithCache_ResolvesBranchAndCommit_WithoutRequests()
    {
        string online = await Resolve(FakeHub.RepoId);
        TakeRequests();

        Assert.Equal(online, await Resolve(FakeHub.RepoId, Options(offline: true)));
        Assert.Equal(online, await Resolve($"{FakeHub.RepoId}@{FakeHub.MainCommit}", Options(offline: true)));
        await Assert.ThrowsAsync<HubException>(() => Resolve($"{FakeHub.RepoId}@v1", Options(offline: true)));
        Assert.Empty(TakeRequests());
    }

    [Fact]
    public async Task UnreachableHub_FallsBackToCompleteCachedSnapshot()
    {
        string online = await Resolve(FakeHub.RepoId);
        _hub.Dispose(); // nothing listens on the port any more: connection refused

        Assert.Equal(online, await Resolve(FakeHub.RepoId));
        var e = await Assert.ThrowsAsync<HubException>(() => Resolve($"{FakeHub.RepoId}@v1"));
        Assert.Contains(_hub.Endpoint, e.Message);
        Assert.Contains(RepoDir, e.Message);
    }

    [Fact]
    public async Task UnresolvableHost_FailsAfterOneTry_AndSaysWhatToDoInstead()
    {
        // .invalid never resolves (RFC 2606): a real name-resolution failure, whether or not the machine has DNS.
        var sends = new CountingHandler();
        using var http = new HttpClient(sends);
        using var client = new HubClient(new HubOptions("http://hub.tunesharp.invalid", _cache, null, false) { RetryDelay = TimeSpan.Zero }, http);

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadSnapshotAsync(RepoRef.Parse(FakeHub.RepoId), ct: Ct));

        Assert.Equal(1, sends.Count); // not five tries: DNS has already retried
        Assert.True(e.Transient);
        Assert.Contains("hub.tunesharp.invalid", e.Message);
        Assert.Contains("does not resolve", e.Message);
        Assert.Contains("model.path=<folder>", e.Message);
        Assert.Contains("--model <folder>", e.Message);
        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
    }

    [Fact]
    public async Task RefusedConnection_IsStillRetried()
    {
        _hub.Dispose(); // nothing listens on the port any more: connection refused, a transient failure
        var sends = new CountingHandler();
        using var http = new HttpClient(sends);
        using var client = new HubClient(Options() with { MaxAttempts = 3 }, http);

        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadSnapshotAsync(RepoRef.Parse(FakeHub.RepoId), ct: Ct));

        Assert.Equal(3, sends.Count);
        Assert.Contains("failed after 3 attempts", e.Message);
        Assert.Contains("model.path=<folder>", e.Message);
    }

    /// <summary>The real socket handler (no redirects, as HubClient needs), counting the requests it is given.</summary>
    sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        int _count;
        public int Count => _count;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task TransientServerErrors_AreRetried()
    {
        _hub.UnavailableNextApiCalls = 2;

        string dir = await Resolve(FakeHub.RepoId);

        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        Assert.Equal(3, TakeRequests().Count(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RetriesAreBounded()
    {
        _hub.UnavailableNextApiCalls = 100;

        var e = await Assert.ThrowsAsync<HubException>(() => Resolve(FakeHub.RepoId, Options() with { MaxAttempts = 3 }));

        Assert.Contains("503", e.Message);
        Assert.Equal(3, TakeRequests().Length);
    }

    [Theory]
    [InlineData("test-org/missing", "repository or revision not found: test-org/missing@main")]
    [InlineData("test-org/stories260K@nope", "repository or revision not found: test-org/stories260K@nope")]
    public async Task NotFound_IsReportedWithRepoAndRevision(string spec, string message)
    {
        var e = await Assert.ThrowsAsync<HubException>(() => Resolve(spec));
        Assert.Equal(message, e.Message);
        Assert.Equal(404, e.StatusCode);
    }

    [Fact]
    public async Task ListedFileMissingOnResolve_NamesTheFile()
    {
        _hub.MissingOnResolve.Add("tokenizer.json");

        var e = await Assert.ThrowsAsync<HubException>(() => Resolve(FakeHub.RepoId));

        Assert.StartsWith($"file 'tokenizer.json' not found in {FakeHub.RepoId}@main", e.Message);
        Assert.False(File.Exists(Path.Combine(RepoDir, "refs", "main")));
    }

    [Fact]
    public async Task Unauthorized_SaysGatedOrPrivate_AndNamesHfToken()
    {
        _hub.RequiredToken = "hf_secret";

        var e = await Assert.ThrowsAsync<HubException>(() => Resolve(FakeHub.RepoId));

        Assert.Contains("gated or private", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Equal(401, e.StatusCode);
    }

    [Fact]
    public async Task TokenFromEnvironment_IsSentToTheHub_ButNotToTheCdn()
    {
        _hub.RequiredToken = "hf_secret";
        var env = new Dictionary<string, string>
        {
            ["HF_TOKEN"] = "hf_secret", ["HF_ENDPOINT"] = _hub.Endpoint + "/", ["HF_HUB_CACHE"] = _cache,
        };
        var options = HubOptions.FromEnvironment(n => env.GetValueOrDefault(n)) with { RetryDelay = TimeSpan.Zero };

        string dir = await Resolve(FakeHub.RepoId, options);

        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
        var requests = TakeRequests();
        Assert.All(requests.Where(r => !r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.All(requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.Null(r.Authorization));
        Assert.DoesNotContain("hf_secret", options.ToString());
    }

    [Fact]
    public async Task BranchRevision_GetsItsOwnSnapshotAndRef_AndReusesBlobs()
    {
        await Resolve(FakeHub.RepoId);
        TakeRequests();

        string dir = await Resolve($"{FakeHub.RepoId}@v1");

        Assert.Equal(Snapshot(FakeHub.V1Commit), dir);
        Assert.Equal(FakeHub.V1Commit, await File.ReadAllTextAsync(Path.Combine(RepoDir, "refs", "v1"), Ct));
        Assert.Equal(FakeHub.MainCommit, await File.ReadAllTextAsync(Path.Combine(RepoDir, "refs", "main"), Ct));
        Assert.Equal(_hub.Files["tokenizer.json"], await File.ReadAllBytesAsync(Path.Combine(dir, "tokenizer.json"), Ct));
        // Same content → same blobs: only metadata (HEAD) requests, no body downloaded again.
        Assert.DoesNotContain(TakeRequests(), r => IsFileRequest(r) && r.Method != "HEAD");
    }

    [Fact]
    public async Task CommitRevision_UsesThatSnapshot_AndWritesNoRef()
    {
        string dir = await Resolve($"{FakeHub.RepoId}@{FakeHub.MainCommit}");

        Assert.Equal(Snapshot(FakeHub.MainCommit), dir);
        Assert.False(Directory.Exists(Path.Combine(RepoDir, "refs")));
        Assert.Contains(TakeRequests(), r => r.Path == $"/api/models/{FakeHub.RepoId}/revision/{FakeHub.MainCommit}");
    }

    [Fact]
    public async Task Progress_ReportsBytesUpToTheTotal()
    {
        var reports = new SyncProgress();

        await Resolve(FakeHub.RepoId, progress: reports);

        var weights = reports.Items.Where(p => p.File == "model.safetensors").ToArray();
        long size = _hub.Files["model.safetensors"].Length;
        Assert.Equal(0, weights[0].BytesDone);
        Assert.Equal(size, weights[^1].BytesDone);
        Assert.All(weights, p => Assert.Equal(size, p.TotalBytes));
        Assert.True(weights.Zip(weights.Skip(1)).All(w => w.First.BytesDone <= w.Second.BytesDone), "progress went backwards");
    }

    [Fact]
    public async Task SnapshotFilesAreCopies_WhenTheCacheAlreadyHoldsThem()
    {
        // A cache written by a tool without symlinks (e.g. Windows): plain files in the snapshot are accepted as cached.
        string dir = Snapshot(FakeHub.MainCommit);
        foreach (string f in ExpectedFiles)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, f))!);
            await File.WriteAllBytesAsync(Path.Combine(dir, f), _hub.Files[f], Ct);
        }

        Assert.Equal(dir, await Resolve(FakeHub.RepoId));
        Assert.DoesNotContain(TakeRequests(), IsFileRequest);
    }

    sealed class SyncProgress : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Items { get; } = [];
        public void Report(DownloadProgress value) { lock (Items) Items.Add(value); }
    }
}
