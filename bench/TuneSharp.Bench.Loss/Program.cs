// LM head + loss memory benchmark: peak RSS growth of one forward + backward of the chunked cross entropy
// (CausalLmLoss.Compute: never materializes [B*T, V] logits) against the plain loss (full logits, fp32 cross entropy),
// for the SmolLM2-135M (V 49152, hidden 576) and Qwen2.5-0.5B (V 151936, hidden 896) heads, every position trained,
// head weight trainable (full fine-tuning). Each measurement runs in a fresh child process.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Loss [-- --batch 4 --seq 512 --dtypes fp32,bf16]
using System.Globalization;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Losses;
using static TorchSharp.torch;

var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "--child")
{
    TorchRuntime.Initialize();
    var (kind, vocab, hidden, dtype) = (args[1], int.Parse(args[2], inv), int.Parse(args[3], inv), args[4] == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32);
    int b = int.Parse(args[5], inv), t = int.Parse(args[6], inv);
    using var scope = NewDisposeScope();
    var h = randn(b, t, hidden).to(dtype).requires_grad_(true);
    var w = (randn(vocab, hidden) * 0.02).to(dtype).requires_grad_(true);
    var labels = randint(0, vocab, [b, t], dtype: ScalarType.Int64);
    long? growth = ProcessMemory.MeasurePeakGrowth(() =>
    {
        using var inner = NewDisposeScope();
        var loss = kind == "chunked" ? CausalLmLoss.Compute(h, w, labels) : CausalLmLoss.Reference(h, w, labels);
        loss.SumLoss.backward();
    });
    Console.WriteLine((growth ?? -1).ToString(inv));
    return 0;
}

var cli = new BenchArgs(args);
int batch = cli.Int("--batch", 4), seq = cli.Int("--seq", 512);
string[] dtypes = (cli.String("--dtypes") ?? "fp32,bf16").Split(',');
(string Name, int Vocab, int Hidden)[] heads = [("SmolLM2-135M", 49152, 576), ("Qwen2.5-0.5B", 151936, 896)];
Console.WriteLine($"B={batch}, T={seq}, every position trained, head trainable; chunk rows {CausalLmLoss.ChunkRowsFor(49152)} (V 49152) / {CausalLmLoss.ChunkRowsFor(151936)} (V 151936); peak RSS growth of forward + backward");
Console.WriteLine("| head | dtype | full fp32 logits alone | plain loss | chunked loss | saving |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (var (name, vocab, hidden) in heads)
    foreach (var dt in dtypes)
    {
        long chunked = Child("chunked", vocab, hidden, dt), plain = Child("reference", vocab, hidden, dt);
        double logits = 4.0 * batch * seq * vocab;
        Console.WriteLine($"| {name} (V {vocab}) | {dt} | {Mib(logits)} | {Mib(plain)} | {Mib(chunked)} | {Mib(plain - chunked)} ({(double)plain / chunked:F1}x less) |");
    }
return 0;

long Child(string kind, int vocab, int hidden, string dtype)
{
    string last = ChildProcess.RunLastLine("--child", kind, vocab.ToString(inv), hidden.ToString(inv), dtype, batch.ToString(inv), seq.ToString(inv));
    return long.Parse(last, inv);
}

static string Mib(double bytes) => $"{bytes / 1048576.0:F0} MiB";
