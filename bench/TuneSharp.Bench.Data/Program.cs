using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TuneSharp.Data;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Cache;
using TuneSharp.Data.Encoding;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;

// Usage: dotnet run -c Release --project bench/TuneSharp.Bench.Data [-- <fixtures dir>]
// Encodes GSM8K (question -> user, answer -> assistant) with the Qwen3 tokenizer and chat template: cold, warm, cached;
// then padding efficiency of padded vs packed batches (micro batch 8) at max_seq_len 512 and 1024.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string fixtures = args.Length > 0 ? args[0]
    : Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") is { Length: > 0 } env ? env
    : Path.GetFullPath(Path.Combine(FindRepoRoot(), "..", "shared", "fixtures"));
string dataFile = Path.Combine(fixtures, "datasets", "gsm8k", "train.jsonl");
string tokDir = Path.Combine(fixtures, "tokenizers", "qwen3");
var rows = new List<(string Phase, int Examples, double Seconds)>();

var sw = Stopwatch.StartNew();
var tokenizer = HfTokenizer.Load(tokDir);
var template = ChatTemplate.FromSource(tokenizer.ChatTemplate!, "qwen3");
Console.WriteLine($"tokenizer + template load: {sw.Elapsed.TotalSeconds:F2} s");

sw.Restart();
var examples = ReadGsm8k(dataFile);
rows.Add(("read JSONL", examples.Count, sw.Elapsed.TotalSeconds));

var settings = new EncodingSettings(1024);
var encoder = new ExampleEncoder(tokenizer, template, settings);
sw.Restart();
var cold = DatasetEncoder.EncodeToList(examples, encoder);
rows.Add(($"encode cold ({Environment.ProcessorCount} threads)", examples.Count, sw.Elapsed.TotalSeconds));
sw.Restart();
DatasetEncoder.EncodeToList(examples, encoder);
rows.Add(($"encode warm ({Environment.ProcessorCount} threads)", examples.Count, sw.Elapsed.TotalSeconds));
sw.Restart();
DatasetEncoder.EncodeToList(examples, encoder, maxDegreeOfParallelism: 1);
rows.Add(("encode warm (1 thread)", examples.Count, sw.Elapsed.TotalSeconds));

string cacheDir = Path.Combine(Path.GetTempPath(), "tunesharp-bench-cache-" + Environment.ProcessId);
try
{
    var cache = new TokenizedDatasetCache(cacheDir);
    sw.Restart();
    string key = CacheKey.Compute([dataFile], tokDir, template, settings);
    rows.Add(("cache key (SHA-256 of inputs)", examples.Count, sw.Elapsed.TotalSeconds));
    sw.Restart();
    cache.Save(key, cold);
    rows.Add(("cache write", examples.Count, sw.Elapsed.TotalSeconds));
    sw.Restart();
    if (!cache.TryLoad(key, out var cached)) throw new InvalidOperationException("cache miss right after writing");
    rows.Add(("cache read (validated)", cached!.Samples.Count, sw.Elapsed.TotalSeconds));
    Console.WriteLine($"cache file: {new FileInfo(cache.PathOf(key)).Length / 1e6:F1} MB");
}
finally { Directory.Delete(cacheDir, recursive: true); }

Console.WriteLine();
Console.WriteLine($"{"phase",-32} {"examples",9} {"seconds",9} {"examples/s",11}");
foreach (var (phase, n, s) in rows) Console.WriteLine($"{phase,-32} {n,9} {s,9:F3} {n / s,11:F0}");
Console.WriteLine();
Console.WriteLine(cold.Stats);

int pad = tokenizer.PadTokenId ?? tokenizer.EosTokenId!.Value;
Console.WriteLine($"{"max_seq_len",11} {"padded eff.",12} {"packed eff.",12} {"padded batches",15} {"packed batches",15}");
foreach (int maxLen in new[] { 512, 1024 })
{
    // Truncate as EncodingSettings(maxLen) would (the samples were encoded at 1024).
    var samples = cold.Samples.Select(s => s.Length <= maxLen ? s : new TokenizedSample(s.InputIds[..maxLen], s.Trained[..maxLen], s.Source)).ToList();
    var padded = samples.Chunk(8).Select(c => Collator.Pad(c, pad)).ToList();
    var packed = Collator.Pack(samples, maxLen, 8, pad);
    Console.WriteLine($"{maxLen,11} {Collator.Efficiency(padded),12:P1} {Collator.Efficiency(packed),12:P1} {padded.Count,15} {packed.Count,15}");
}

static List<Example> ReadGsm8k(string path)
{
    var list = new List<Example>();
    long line = 0;
    foreach (string text in File.ReadLines(path))
    {
        line++;
        if (text.Length == 0) continue;
        using var doc = JsonDocument.Parse(text);
        string q = doc.RootElement.GetProperty("question").GetString()!, a = doc.RootElement.GetProperty("answer").GetString()!;
        list.Add(new ChatExample(new SourceLocation(path, line), [new ChatMessage("user", q), new ChatMessage("assistant", a)]));
    }
    return list;
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}
