// Gradient checkpointing benchmark: peak resident memory and step time of one training step (forward, loss,
// backward) with and without per-layer activation recomputation, on a SmolLM2-135M-shaped model with random weights.
// Each setting runs in a fresh child process, so its VmHWM (peak RSS from /proc/self/status) is its own.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.GradCheckpoint [-- --rounds 2 --steps 2 --batch 2 --seq 512 --modes full,full+ckpt,lora,lora+ckpt]
using System.Diagnostics;
using System.Globalization;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Estimates;
using static TorchSharp.torch;

var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "--child") return Child(args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]));

var cli = new BenchArgs(args);
int rounds = cli.Int("--rounds", 2), steps = cli.Int("--steps", 2), batch = cli.Int("--batch", 2), seq = cli.Int("--seq", 512);
string[] modes = (cli.String("--modes") ?? "full,full+ckpt,lora,lora+ckpt").Split(',');
// Rounds alternate the settings, so a burst of load from other processes does not hit one setting only.
var runs = modes.ToDictionary(m => m, _ => new List<ChildResult>());
for (int r = 0; r < rounds; r++)
    foreach (var m in modes) runs[m].Add(RunChild(m, steps, batch, seq));

Console.WriteLine($"model: SmolLM2-135M shape (hidden 576, 30 layers, 9 heads / 3 KV, FFN 1536, vocab 49152, tied), random weights");
Console.WriteLine($"B={batch}, T={seq}, fp32, {rounds} rounds x {steps} timed steps after 1 warm-up, one fresh process per run");
Console.WriteLine("| setting | peak RSS (VmHWM, max over runs) | RSS after init | peak - init | fastest s/step | median of run medians | loss (step 1) |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
foreach (var (mode, rs) in runs)
{
    long hwm = rs.Max(r => r.HwmKb), init = rs.Max(r => r.InitKb);
    double fastest = rs.Min(r => r.Fastest), median = Stats.Median(rs.Select(r => r.Seconds));
    Console.WriteLine($"| {mode} | {Mib(hwm)} | {Mib(init)} | {Mib(hwm - init)} | {fastest.ToString("F2", inv)} | {median.ToString("F2", inv)} | {rs[0].Loss.ToString("R", inv)} |");
}
return 0;

static string Mib(long kb) => $"{kb / 1024.0:F0} MiB";

static ChildResult RunChild(string mode, int steps, int batch, int seq)
{
    var f = ChildProcess.RunLastLine("--child", mode, steps.ToString(), batch.ToString(), seq.ToString()).Split(' ');
    return new ChildResult(long.Parse(f[0]), long.Parse(f[1]), double.Parse(f[2], CultureInfo.InvariantCulture),
        double.Parse(f[3], CultureInfo.InvariantCulture), float.Parse(f[4], CultureInfo.InvariantCulture));
}

// One setting: prints "<VmHWM kB> <VmRSS after init kB> <median s/step> <fastest s/step> <loss of the first step>".
static int Child(string mode, int steps, int batch, int seq)
{
    TorchRuntime.Initialize();
    var config = BenchModels.SmolLM2Shape;
    bool lora = mode.StartsWith("lora", StringComparison.Ordinal);
    var policy = lora ? new LoraPolicy(LoraSettings.Create(8, 16, LoraSettings.AllLinear) with { Dropout = 0.05 }) : null;
    using var model = new CausalLM(config, linears: policy);
    ModelInit.Normal(model, 1);
    policy?.Prepare(model, 2); // PEFT init of the adapters; only adapters trainable
    model.GradientCheckpointing = mode.EndsWith("+ckpt", StringComparison.Ordinal);
    using var gen = new Generator().manual_seed(3);
    using var ids = randint(0, config.VocabSize, [batch, seq], dtype: ScalarType.Int64, generator: gen);
    long initKb = ProcessMemory.CurrentRssBytes()!.Value / 1024;

    var times = new List<double>();
    float firstLoss = float.NaN;
    for (int s = 0; s <= steps; s++)
    {
        var clock = Stopwatch.StartNew();
        using (var scope = NewDisposeScope())
        {
            manual_seed(4); // same dropout masks in every setting
            var logits = model.Forward(ids);
            var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, config.VocabSize), ids[.., 1..].reshape(-1));
            loss.backward();
            if (s == 0) firstLoss = loss.item<float>();
        }
        model.zero_grad();
        if (s > 0) times.Add(clock.Elapsed.TotalSeconds); // step 0 is warm-up
    }
    double median = Stats.Median(times);
    times.Sort();
    Console.WriteLine(string.Join(' ', ProcessMemory.PeakRssBytes()!.Value / 1024, initKb, median.ToString("R", CultureInfo.InvariantCulture),
        times[0].ToString("R", CultureInfo.InvariantCulture), firstLoss.ToString("R", CultureInfo.InvariantCulture)));
    return 0;
}

readonly record struct ChildResult(long HwmKb, long InitKb, double Seconds, double Fastest, float Loss);
