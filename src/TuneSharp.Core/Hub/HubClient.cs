using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TuneSharp.Core.Hub;

/// <summary>
/// Downloads repository snapshots from a Hugging Face hub into a cache laid out exactly like huggingface_hub's, so both
/// share one cache. Downloads resume from <c>blobs/{etag}.incomplete</c> with HTTP Range requests, are verified against
/// their etag (sha256 for LFS files, git blob sha1 otherwise) and are renamed into place only when complete.
/// </summary>
/// <remarks>
/// A supplied <see cref="HttpClient"/> must not follow redirects itself (<c>AllowAutoRedirect = false</c>): the hub's
/// LFS redirect response carries the blob's etag and size, and the token is not forwarded to the redirect target.
/// </remarks>
public sealed class HubClient : IDisposable
{
    const int MaxRelativeRedirects = 5;
    /// <summary>What to do instead of downloading, in the words of the config key and the command-line option.</summary>
    const string LocalFolderRemedy = "use a local model folder instead of a hub id (model.path=<folder> in a train config, --model <folder> on the command line)";
    const long ProgressStep = 1 << 20;

    readonly HttpClient _http;
    readonly bool _ownsHttp;

    /// <summary>Creates a client; without <paramref name="http"/> an own non-redirecting client is used and disposed with this one.</summary>
    public HubClient(HubOptions options, HttpClient? http = null)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _ownsHttp = http == null;
        _http = http ?? new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Endpoint, cache folder, token, offline flag and retry settings in use.</summary>
    public HubOptions Options { get; }

    /// <summary>
    /// Makes the snapshot of <paramref name="repo"/> complete in the cache for the files kept by
    /// <paramref name="allowPatterns"/> (default <see cref="AllowPatterns.Default"/>) and returns its folder.
    /// Files already in the snapshot are not requested again. Offline, or when the hub cannot be reached, a cached
    /// snapshot is returned; without one a <see cref="HubException"/> names the repo and the cache folder.
    /// </summary>
    public async Task<string> DownloadSnapshotAsync(RepoRef repo, IReadOnlyList<string>? allowPatterns = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var cache = new RepoCache(Options.CacheDir, repo);
        if (Options.Offline)
            return cache.FindSnapshot(repo.Revision) ?? throw new HubException(
                $"{repo} is not in the cache and offline mode is on (HF_HUB_OFFLINE=1): looked in {cache.Root}. " +
                $"Unset HF_HUB_OFFLINE to download it, or {LocalFolderRemedy}");

        RepoInfo info;
        try
        {
            info = await GetRepoInfoAsync(repo, ct);
        }
        catch (HubException e) when (e.Transient)
        {
            // The hub is unreachable: a snapshot cached earlier (by us or by Python tools) is good enough.
            return cache.FindSnapshot(repo.Revision) ?? throw new HubException(
                $"cannot reach {Options.Endpoint} for {repo} and it is not in the cache at {cache.Root}: {e.Message}. " +
                $"Without hub access, {LocalFolderRemedy}; or fill the cache where the hub is reachable and set HF_HUB_OFFLINE=1 " +
                "here to use it without trying the network", e.StatusCode, e) { Transient = true };
        }

        var allow = allowPatterns ?? AllowPatterns.Default;
        var files = info.Files.Where(f => AllowPatterns.Keep(f, allow)).ToList();
        if (allowPatterns == null) RejectPickleOnly(repo, info.Files, files);

        // Small files first so configs are usable early; the weights come last.
        foreach (string file in files.OrderBy(f => f.EndsWith(".safetensors", StringComparison.Ordinal)).ThenBy(f => f, StringComparer.Ordinal))
            await EnsureFileAsync(cache, repo, info.Commit, file, progress, ct);

        string snapshot = cache.SnapshotDir(info.Commit);
        Directory.CreateDirectory(snapshot);
        // The ref is written last, so a branch name never points at a half-downloaded snapshot.
        if (!repo.IsCommitHash) cache.WriteRef(repo.Revision, info.Commit);
        return snapshot;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    sealed record RepoInfo(string Commit, IReadOnlyList<string> Files);

    sealed record RepoInfoDto(
        [property: JsonPropertyName("sha")] string? Sha,
        [property: JsonPropertyName("siblings")] List<SiblingDto>? Siblings);

    sealed record SiblingDto([property: JsonPropertyName("rfilename")] string? RFilename);

    /// <summary>GET /api/models/{repo}/revision/{revision}: the commit and the file list.</summary>
    async Task<RepoInfo> GetRepoInfoAsync(RepoRef repo, CancellationToken ct)
    {
        var url = new Uri($"{Options.Endpoint}/api/models/{repo.RepoId}/revision/{Uri.EscapeDataString(repo.Revision)}");
        string json = await RetryAsync($"{repo}: GET {url}", async () =>
        {
            using var response = await SendAsync(HttpMethod.Get, url, withToken: true, range: null, ct);
            ThrowIfFailed(response, repo, file: null);
            return await response.Content.ReadAsStringAsync(ct);
        }, ct);

        RepoInfoDto dto;
        try { dto = JsonSerializer.Deserialize<RepoInfoDto>(json) ?? throw new JsonException("null document"); }
        catch (JsonException e) { throw new InvalidDataException($"{url}: the hub answered invalid JSON: {e.Message}", e); }
        if (dto.Sha is not { } sha || !RepoRef.IsCommit(sha))
            throw new InvalidDataException($"{url}: the answer has no 40-hex commit 'sha' (got '{dto.Sha}')");
        var files = (dto.Siblings ?? []).Select(s => s.RFilename).OfType<string>().ToList();
        foreach (string f in files)
            if (!IsSafeRepoPath(f))
                throw new InvalidDataException($"{url}: refusing file name '{f}' (absolute, '..' or backslash)");
        return new RepoInfo(sha, files);
    }

    static bool IsSafeRepoPath(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\') && !path.Contains('\0') &&
        path.Split('/').All(s => s is not ("" or "." or ".."));

    static void RejectPickleOnly(RepoRef repo, IReadOnlyList<string> all, List<string> kept)
    {
        if (kept.Any(f => f.EndsWith(".safetensors", StringComparison.Ordinal))) return;
        string[] pickled = all.Where(f => f.EndsWith(".bin", StringComparison.Ordinal) || f.EndsWith(".pt", StringComparison.Ordinal) ||
                                          f.EndsWith(".pth", StringComparison.Ordinal)).ToArray();
        if (pickled.Length > 0)
            throw new NotSupportedException(
                $"{repo} has only pickled PyTorch weights ({string.Join(", ", pickled.Take(3))}) and no .safetensors; " +
                "TuneSharp loads safetensors only (pick a revision with safetensors, e.g. a 'refs/pr/N' conversion, or convert the checkpoint)");
    }

    /// <summary>Makes snapshots/{commit}/{file} exist: reuses the blob if cached, else downloads, verifies and links it.</summary>
    async Task EnsureFileAsync(RepoCache cache, RepoRef repo, string commit, string file, IProgress<DownloadProgress>? progress,
        CancellationToken ct)
    {
        string pointer = cache.PointerPath(commit, file);
        if (RepoCache.IsUsableFile(pointer)) return;

        var resolveUrl = new Uri($"{Options.Endpoint}/{repo.RepoId}/resolve/{commit}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");
        var meta = await RetryAsync($"{repo}: HEAD {resolveUrl}", () => GetFileMetadataAsync(resolveUrl, repo, file, ct), ct);
        if (meta.Commit != null && meta.Commit != commit)
            throw new InvalidDataException($"{file} ({repo}): the hub served commit {meta.Commit} for a request at commit {commit}");

        string blob = cache.BlobPath(meta.Etag);
        if (!RepoCache.IsUsableFile(blob))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            // Same lock file as huggingface_hub, so a Python process and this one never write one blob together.
            await using var lockFile = await AcquireLockAsync(cache.LockPath(meta.Etag), ct);
            if (!RepoCache.IsUsableFile(blob))
                await DownloadBlobAsync(meta, blob, repo, file, sameOrigin: meta.Location == resolveUrl, progress, ct);
        }
        RepoCache.Link(blob, pointer);
    }

    sealed record FileMetadata(string Etag, long? Size, string? Commit, Uri Location);

    /// <summary>HEAD on the resolve URL without following the CDN redirect (whose response carries X-Linked-Etag/Size).</summary>
    async Task<FileMetadata> GetFileMetadataAsync(Uri url, RepoRef repo, string file, CancellationToken ct)
    {
        for (int hop = 0; ; hop++)
        {
            using var response = await SendAsync(HttpMethod.Head, url, withToken: true, range: null, ct);
            var location = response.Headers.Location;
            bool redirect = (int)response.StatusCode is >= 300 and < 400 && location != null;
            // A relative redirect stays on the hub (a renamed repo): follow it. An absolute one is the LFS/CDN location.
            if (redirect && !location!.IsAbsoluteUri && hop < MaxRelativeRedirects)
            {
                url = new Uri(url, location);
                continue;
            }
            if (!redirect) ThrowIfFailed(response, repo, file);

            string? etag = Header(response, "X-Linked-Etag") ?? response.Headers.ETag?.ToString() ?? Header(response, "ETag");
            if (etag == null)
                throw new InvalidDataException($"{file} ({repo}): {url} sent no ETag, so the download cannot be verified or cached");
            etag = BlobHash.NormalizeEtag(etag);
            if (etag.Length == 0 || !etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || etag.StartsWith('.'))
                throw new InvalidDataException($"{file} ({repo}): unusable ETag '{etag}' from {url}");
            long? size = long.TryParse(Header(response, "X-Linked-Size"), out long linked) ? linked : response.Content.Headers.ContentLength;
            var target = redirect ? (location!.IsAbsoluteUri ? location : new Uri(url, location)) : url;
            return new FileMetadata(etag, size, Header(response, "X-Repo-Commit"), target);
        }
    }

    /// <summary>Downloads into blobs/{etag}.incomplete (resuming it), verifies it, then renames it to the blob.</summary>
    async Task DownloadBlobAsync(FileMetadata meta, string blob, RepoRef repo, string file, bool sameOrigin,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string label = $"{file} ({repo})";
        string incomplete = blob + ".incomplete";
        await RetryAsync($"{label}: GET {meta.Location}", async () =>
        {
            await DownloadOnceAsync(meta, incomplete, repo, file, sameOrigin, progress, ct);
            return true;
        }, ct);

        long length = new FileInfo(incomplete).Length;
        if (meta.Size is { } size && length != size)
        {
            File.Delete(incomplete);
            throw new InvalidDataException($"{label}: downloaded {length} bytes but the hub announced {size}; the partial file was removed");
        }
        if (BlobHash.KindOf(meta.Etag) is { } kind)
        {
            string actual = await BlobHash.ComputeAsync(incomplete, kind, ct);
            if (actual != meta.Etag)
            {
                File.Delete(incomplete);
                throw new InvalidDataException(
                    $"{label}: {kind} mismatch: expected {meta.Etag}, got {actual} for the {length} bytes from {meta.Location}; the download was discarded");
            }
        }
        File.Move(incomplete, blob, overwrite: true);
    }

    /// <summary>One GET: appends to the partial file on 206, starts over on 200.</summary>
    async Task DownloadOnceAsync(FileMetadata meta, string incomplete, RepoRef repo, string file, bool sameOrigin,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        long have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        if (meta.Size is { } size && have >= size)
        {
            if (have == size) return;
            File.Delete(incomplete);
            have = 0;
        }

        using var response = await SendAsync(HttpMethod.Get, meta.Location, withToken: sameOrigin, range: have > 0 ? have : null, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            File.Delete(incomplete); // the partial file does not fit the server's copy: start over on the next attempt
            throw new TransientStatusException(response.StatusCode);
        }
        ThrowIfFailed(response, repo, file);

        bool append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
        if (response.StatusCode == HttpStatusCode.PartialContent && !append)
        {
            File.Delete(incomplete);
            throw new TransientStatusException(response.StatusCode);
        }
        long done = append ? have : 0;
        long? total = meta.Size ?? (response.Content.Headers.ContentLength is { } cl ? done + cl : null);

        await using var output = new FileStream(incomplete, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None,
            1 << 16, useAsync: true);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        byte[] buffer = new byte[1 << 16];
        long reported = done;
        progress?.Report(new DownloadProgress(file, done, total));
        while (true)
        {
            int n;
            readCts.CancelAfter(Options.ReadTimeout);
            try
            {
                n = await body.ReadAsync(buffer, readCts.Token);
            }
            catch (IOException e)
            {
                throw new HttpRequestException($"connection lost after {done} bytes of {file}: {e.Message}", e);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new HttpRequestException($"no data for {Options.ReadTimeout.TotalSeconds:0} s after {done} bytes of {file}", e);
            }
            if (n == 0) break;
            await output.WriteAsync(buffer.AsMemory(0, n), ct);
            done += n;
            if (done - reported >= ProgressStep)
            {
                progress?.Report(new DownloadProgress(file, done, total));
                reported = done;
            }
        }
        await output.FlushAsync(ct);
        if (reported != done) progress?.Report(new DownloadProgress(file, done, total));
    }

    async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, bool withToken, long? range, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.UserAgent.ParseAdd("tunesharp/0.1 (huggingface_hub-compatible)");
        request.Headers.AcceptEncoding.ParseAdd("identity"); // etags and sizes refer to the raw bytes
        if (withToken && Options.Token != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.Token);
        if (range != null) request.Headers.Range = new RangeHeaderValue(range, null);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (IsTransientStatus(response.StatusCode))
        {
            var status = response.StatusCode;
            response.Dispose();
            throw new TransientStatusException(status);
        }
        return response;
    }

    static bool IsTransientStatus(HttpStatusCode status) =>
        (int)status is 408 or 429 or 500 or 502 or 503 or 504;

    /// <summary>Maps a failed response to an error a user can act on.</summary>
    void ThrowIfFailed(HttpResponseMessage response, RepoRef repo, string? file)
    {
        if (response.IsSuccessStatusCode) return;
        int code = (int)response.StatusCode;
        string? errorCode = Header(response, "X-Error-Code");
        bool repoMissing = errorCode is "RepoNotFound" or "RevisionNotFound";
        string tokenHint = Options.Token == null ? "set HF_TOKEN to a token that has access" : "the token in HF_TOKEN was refused or lacks access";
        throw code switch
        {
            // The hub answers 401 + RepoNotFound for a repo that is missing or that this caller may not see.
            401 or 403 when repoMissing => new HubException($"repository or revision not found: {repo} (or it is gated or private: {tokenHint})", code),
            401 or 403 => new HubException($"{repo} is gated or private (HTTP {code}): {tokenHint}", code),
            404 when file != null && !repoMissing => new HubException($"file '{file}' not found in {repo} ({response.RequestMessage?.RequestUri})", code),
            404 => new HubException($"repository or revision not found: {repo}", code),
            _ => new HubException($"{repo}{(file != null ? $" '{file}'" : "")}: HTTP {code} {response.ReasonPhrase} from {response.RequestMessage?.RequestUri}", code),
        };
    }

    static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    /// <summary>
    /// Runs <paramref name="op"/> again on transient failures with exponential backoff, a bounded number of times. A host
    /// name that does not resolve fails at once: DNS has already retried, and offline machines would wait for nothing.
    /// </summary>
    async Task<T> RetryAsync<T>(string what, Func<Task<T>> op, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await op();
            }
            catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.NameResolutionError)
            {
                throw new HubException($"{what}: the host name does not resolve ({e.Message}); no network or DNS", null, e) { Transient = true };
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                if (attempt >= Options.MaxAttempts)
                    throw new HubException($"{what}: failed after {attempt} attempts: {e.Message}",
                        (e as TransientStatusException)?.Status is { } s ? (int)s : null, e) { Transient = true };
                double ms = Math.Min(Options.RetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1), Options.MaxRetryDelay.TotalMilliseconds);
                await Task.Delay(TimeSpan.FromMilliseconds(ms), ct);
            }
        }
    }

    static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        TransientStatusException or HttpRequestException => true,
        OperationCanceledException => !ct.IsCancellationRequested, // HttpClient.Timeout
        _ => false,
    };

    sealed class TransientStatusException(HttpStatusCode status) : Exception($"HTTP {(int)status} {status}")
    {
        public HttpStatusCode Status { get; } = status;
    }

    /// <summary>Exclusive lock on a file (flock on Unix, as Python's filelock), waiting while another process holds it.</summary>
    static async Task<FileStream> AcquireLockAsync(string path, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            }
        }
    }
}
