// Decode benchmark: time to first token (prefill of a prompt + first sample) and steady decode tokens/s, greedy, batch 1,
// for the real stories260K checkpoint and a SmolLM2-135M-shaped model with random weights (fp32 and bf16).
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Decode [-- --fixtures ../shared/fixtures --tokens 128]
using System.Diagnostics;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Inference;
using TuneSharp.Models;
using static TorchSharp.torch;

TorchRuntime.Initialize();
var cli = new BenchArgs(args);
string fixtures = cli.String("--fixtures") ?? Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") ?? "../shared/fixtures";
int tokens = cli.Int("--tokens", 128);
Console.WriteLine($"greedy decode, batch 1, {tokens} new tokens, {get_num_threads()} threads; medians of 3 runs after a warm-up");
Console.WriteLine("| model | dtype | prompt tokens | time to first token | decode tokens/s |");
Console.WriteLine("| --- | --- | --- | --- | --- |");

string stories = Path.Combine(fixtures, "models", "stories260K-hf");
if (Directory.Exists(stories))
{
    using var model = ModelLoader.Load(stories);
    Report("stories260K", model, ScalarType.Float32, 16, tokens);
}
var smol = BenchModels.SmolLM2Shape;
foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
{
    using var model = new CausalLM(smol, dtype);
    ModelInit.Normal(model, 1);
    Report("SmolLM2-135M shape (random)", model, dtype, 128, tokens);
}
return 0;

static void Report(string name, CausalLM model, ScalarType dtype, int promptLength, int tokens)
{
    model.eval();
    var prompt = Enumerable.Range(0, promptLength).Select(i => 1 + i * 7 % (model.Args.VocabSize - 1)).ToArray();
    var options = new SamplingOptions { Temperature = 0, MaxNewTokens = tokens };
    var generator = new TuneSharp.Inference.Generator(model);
    var ttft = new List<double>();
    var rate = new List<double>();
    for (int run = 0; run < 4; run++)
    {
        var clock = Stopwatch.StartNew();
        double first = 0;
        int n = 0;
        foreach (var _ in generator.Generate([prompt], options))
            if (n++ == 0) first = clock.Elapsed.TotalMilliseconds;
        if (run == 0) continue; // warm-up
        ttft.Add(first);
        rate.Add(generator.LastStats.DecodeTokensPerSecond);
    }
    Console.WriteLine($"| {name} | {dtype} | {promptLength} | {Stats.Median(ttft):F1} ms | {Stats.Median(rate):F1} |");
}
