// Serving benchmark: throughput and latency of the OpenAI-compatible server under 1, 8 and 32 concurrent clients, with
// continuous batching (--max-batch-size 32) and one request at a time (--max-batch-size 1) in the same run.
// A real server (Kestrel on loopback, the same code as `tunesharp serve`) on stories260K; each client sends
// non-streamed /v1/completions requests back to back (sampled, one seed per request, no stop: every request
// generates --tokens tokens).
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Serve [-- --fixtures ../shared/fixtures --tokens 64 --requests 4]
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Serve;

TorchRuntime.Initialize();
var cli = new BenchArgs(args);
string fixtures = cli.String("--fixtures") ?? Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") ?? "../shared/fixtures";
int tokens = cli.Int("--tokens", 64);
int perClient = cli.Int("--requests", 4); // requests per client at each concurrency (at least 16 in all)
string model = Path.Combine(fixtures, "models", "stories260K-hf");
if (!Directory.Exists(model))
{
    Console.Error.WriteLine($"{model} not found (pass --fixtures)");
    return 1;
}
int[] clients = [1, 8, 32];
Console.WriteLine($"stories260K, non-streamed /v1/completions of {tokens} tokens, {perClient} requests per client (at least 16), "
    + $"{TorchSharp.torch.get_num_threads()} torch threads, {Environment.ProcessorCount} cores");
Console.WriteLine("| server | clients | requests | tokens/s | requests/s | p50 latency | p95 latency |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
// Both servers run side by side (each with its own tensor worker) and are measured alternately at each concurrency, so that
// a change in machine load affects both alike; only one is under load at a time.
int[] batchSizes = [32, 1];
var servers = new Dictionary<int, OpenAiServer>();
var results = new Dictionary<(int Batch, int Clients), Row>();
try
{
    foreach (int batch in batchSizes)
        servers[batch] = await OpenAiServer.StartAsync(new ServeOptions
        {
            ModelDirectory = model, ModelId = "stories", Port = 0, MaxBatchSize = batch, MaxTokensLimit = tokens,
        }, Console.Error);
    foreach (var server in servers.Values) // warm-up before any measurement: JIT tiers, connections, allocator
    {
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        for (int round = 0; round < 3; round++) await Measure(http, 8, 2, tokens);
    }
    foreach (int c in clients)
        foreach (int batch in batchSizes)
        {
            using var http = new HttpClient { BaseAddress = new Uri(servers[batch].Url), Timeout = TimeSpan.FromMinutes(10) };
            var row = results[(batch, c)] = await Measure(http, c, Math.Max(perClient, (16 + c - 1) / c), tokens);
            string name = batch == 1 ? "one at a time (max batch 1)" : $"continuous batching (max batch {batch})";
            Console.WriteLine($"| {name} | {c} | {row.Requests} | {row.TokensPerSecond:F0} | {row.RequestsPerSecond:F1} | {row.P50:F3} s | {row.P95:F3} s |");
        }
}
finally
{
    foreach (var server in servers.Values) await server.DisposeAsync();
}
Console.WriteLine();
Console.WriteLine("| clients | throughput batching / one at a time | p95 latency one at a time / batching |");
Console.WriteLine("| --- | --- | --- |");
foreach (int c in clients)
{
    var (b, s) = (results[(32, c)], results[(1, c)]);
    Console.WriteLine($"| {c} | {b.TokensPerSecond / s.TokensPerSecond:F2}x | {s.P95 / b.P95:F2}x |");
}
return 0;

static async Task<Row> Measure(HttpClient http, int clients, int perClient, int tokens)
{
    var latencies = new List<double>();
    long generated = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
    {
        for (int i = 0; i < perClient; i++)
        {
            var request = new JsonObject
            {
                ["model"] = "stories", ["prompt"] = "Once upon a time", ["max_tokens"] = tokens,
                ["temperature"] = 0.8, ["seed"] = client * 1000 + i,
            };
            var start = clock.Elapsed;
            using var response = await http.PostAsJsonAsync("/v1/completions", request);
            var reply = await response.Content.ReadFromJsonAsync<JsonObject>();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}: {reply}");
            double seconds = (clock.Elapsed - start).TotalSeconds;
            lock (latencies)
            {
                latencies.Add(seconds);
                generated += (int)reply!["usage"]!["completion_tokens"]!;
            }
        }
    }));
    double wall = clock.Elapsed.TotalSeconds;
    var sorted = latencies.Order().ToArray();
    return new Row(sorted.Length, generated / wall, sorted.Length / wall, Stats.Median(sorted), Percentile(sorted, 0.95));
}

/// <summary>Nearest-rank percentile of sorted values.</summary>
static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

sealed record Row(int Requests, double TokensPerSecond, double RequestsPerSecond, double P50, double P95);
