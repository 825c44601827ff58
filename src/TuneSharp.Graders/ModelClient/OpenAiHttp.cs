using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace TuneSharp.Graders.ModelClient;

/// <summary>
/// POSTs JSON to an OpenAI-compatible endpoint with retries: 408, 409, 429 and 5xx replies and connection failures are
/// retried with exponential backoff (honouring Retry-After); other 4xx fail at once with the server's message.
/// Thread-safe; one shared <see cref="HttpClient"/>.
/// </summary>
public sealed class OpenAiHttp(ModelEndpoint endpoint, HttpClient? http = null)
{
    static readonly Lazy<HttpClient> Shared = new(() => new HttpClient { Timeout = Timeout.InfiniteTimeSpan });
    readonly HttpClient _http = http ?? Shared.Value;

    public ModelEndpoint Endpoint { get; } = endpoint;

    /// <summary>Sends <paramref name="body"/> to <c>{BaseUrl}/{path}</c>; returns the parsed JSON reply and the attempts made.</summary>
    public async Task<(JsonObject Reply, int Attempts)> PostAsync(string path, JsonObject body, CancellationToken ct)
    {
        var url = new Uri(Endpoint.BaseUrl.ToString().TrimEnd('/') + "/" + path);
        string payload = body.ToJsonString();
        TimeSpan delay = Endpoint.InitialDelay;
        for (int attempt = 1; ; attempt++)
        {
            string failure;
            TimeSpan? retryAfter = null;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(Endpoint.RequestTimeout);
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
                if (Endpoint.ApiKey != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Endpoint.ApiKey);
                try
                {
                    using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                    string text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                        return (JsonNode.Parse(text) as JsonObject ?? throw new ModelCallException($"{url}: the reply is not a JSON object: {Clip(text)}"), attempt);
                    failure = $"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {ErrorMessage(text)}";
                    if (!Retryable(response.StatusCode)) throw new ModelCallException(failure, (int)response.StatusCode);
                    retryAfter = response.Headers.RetryAfter?.Delta
                                 ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
                }
                catch (HttpRequestException e)
                {
                    failure = $"{url}: {e.Message}";
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    failure = $"{url}: no reply within {Endpoint.RequestTimeout.TotalSeconds:0.#} s";
                }
                catch (System.Text.Json.JsonException e)
                {
                    throw new ModelCallException($"{url}: the reply is not valid JSON: {e.Message}");
                }
            }
            if (attempt > Endpoint.MaxRetries) throw new ModelCallException($"{failure} (gave up after {attempt} attempts)");
            var wait = retryAfter is { } ra && ra > delay ? ra : delay;
            await Task.Delay(wait < Endpoint.MaxDelay ? wait : Endpoint.MaxDelay, ct).ConfigureAwait(false);
            delay *= 2;
        }
    }

    static bool Retryable(HttpStatusCode code) =>
        code is HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests || (int)code >= 500;

    // OpenAI's error shape: {"error": {"message": ...}}.
    static string ErrorMessage(string body)
    {
        try
        {
            if (JsonNode.Parse(body)?["error"]?["message"] is JsonValue m && m.TryGetValue(out string? s)) return s;
        }
        catch (System.Text.Json.JsonException) { }
        return Clip(body);
    }

    static string Clip(string s) => s.Length > 300 ? s[..300] + "..." : s;
}

/// <summary>A call to the model endpoint failed for good (non-retryable status, retries exhausted, malformed reply).</summary>
public sealed class ModelCallException(string message, int? status = null) : Exception(message)
{
    public int? StatusCode { get; } = status;
}
