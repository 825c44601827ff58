// Optimizer benchmarks on the parameters of a SmolLM2-135M-shaped model (random weights, fresh random gradients each
// step; no forward/backward: only what the optimizer itself does is measured). Each run is a fresh child process.
//
// Memory (default): resident memory (VmRSS) over many AdamW steps, for TuneSharp's AdamW (one dispose scope per
// parameter) and TorchSharp's built-in torch.optim.AdamW (temporaries of the whole step live in the caller's scope).
// A child stops early when its RSS passes --max-rss-gib (default 6), so a growing optimizer cannot take the machine down.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Optimizer [-- --steps 200 --optimizers tunesharp,torchsharp --max-rss-gib 6]
//
// Time (--time): the median step time of each TuneSharp optimizer (config names) against AdamW on the same parameters,
// with the state each holds and the process RSS after the last step.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Optimizer -- --time [--steps 5 --optimizers adamw,adam,sgd,adafactor,adamw_8bit]
using System.Globalization;
using TorchSharp;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Models;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "--child") return Child(args[1], int.Parse(args[2], inv), double.Parse(args[3], inv));
if (args.Length > 0 && args[0] == "--child-time") return ChildTime(args[1], int.Parse(args[2], inv));

var cli = new BenchArgs(args);
if (args.Contains("--time")) return TimeAll(cli);
int steps = cli.Int("--steps", 200);
double maxRssGib = cli.Double("--max-rss-gib", 6);
string[] optimizers = (cli.String("--optimizers") ?? "tunesharp,torchsharp").Split(',');
var results = optimizers.ToDictionary(o => o, o => RunChild(o, steps, maxRssGib));

Console.WriteLine("model: SmolLM2-135M shape (134.5M parameters, fp32, full fine-tuning), random gradients; VmRSS in MiB");
int[] marks = [1, 10, 20, 50, 100, 200, 500, 1000];
var shown = marks.Where(m => m <= steps).ToArray();
Console.WriteLine("| optimizer | after init | " + string.Join(" | ", shown.Select(m => $"step {m}")) + " | growth step 20 -> last |");
Console.WriteLine("|---|---|" + string.Concat(shown.Select(_ => "---|")) + "---|");
foreach (var (name, rss) in results)
{
    double last = rss[^1], at20 = rss[Math.Min(20, rss.Count - 1)];
    string Cell(int m) => m < rss.Count ? Mib(rss[m]) : "stopped";
    string note = rss.Count <= steps ? $" (stopped after step {rss.Count - 1}: RSS above {maxRssGib} GiB)" : "";
    Console.WriteLine($"| {name} | {Mib(rss[0])} | " + string.Join(" | ", shown.Select(Cell)) + $" | {(last - at20) / 1048576.0:+0;-0;0} MiB{note} |");
}
return 0;

static string Mib(double bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

// The child prints one RSS figure per line: after init (gradients allocated), then after every step.
static List<double> RunChild(string optimizer, int steps, double maxRssGib) =>
    ChildProcess.Lines("--child", optimizer, steps.ToString(CultureInfo.InvariantCulture), maxRssGib.ToString(CultureInfo.InvariantCulture))
        .Select(line => double.Parse(line, CultureInfo.InvariantCulture)).ToList();

static int Child(string optimizer, int steps, double maxRssGib)
{
    TorchRuntime.Initialize();
    using var model = new CausalLM(BenchModels.SmolLM2Shape);
    ModelInit.Normal(model, 1);
    var named = model.named_parameters().Select(p => new NamedParameter(p.name, p.parameter)).ToList();
    using var gen = new torch.Generator().manual_seed(2);
    foreach (var np in named) np.Parameter.grad = torch.randn(np.Parameter.shape, generator: gen).mul_(1e-3);

    Action step;
    IDisposable owner;
    if (optimizer == "tunesharp")
    {
        var adam = AdamW.Create(ParamGroups.Build(named, 1e-4, 0.01));
        (step, owner) = (() => adam.Step(), adam);
    }
    else if (optimizer == "torchsharp")
    {
        var adam = torch.optim.AdamW(model.parameters(), lr: 1e-4, weight_decay: 0.01);
        (step, owner) = (() => adam.step(), adam);
    }
    else throw new ArgumentException($"unknown optimizer '{optimizer}' (tunesharp, torchsharp)");

    Console.WriteLine(ProcessMemory.CurrentRssBytes()!.Value.ToString(CultureInfo.InvariantCulture));
    for (int s = 1; s <= steps; s++)
    {
        // New gradients in place (the training loop's backward writes into existing grad buffers the same way).
        using (torch.no_grad())
            foreach (var np in named) np.Parameter.grad!.normal_(0, 1e-3, generator: gen);
        step();
        long rss = ProcessMemory.CurrentRssBytes()!.Value;
        Console.WriteLine(rss.ToString(CultureInfo.InvariantCulture));
        if (rss > maxRssGib * (1L << 30)) break;
    }
    owner.Dispose();
    return 0;
}

static int TimeAll(BenchArgs cli)
{
    int steps = cli.Int("--steps", 5);
    var names = (cli.String("--optimizers") ?? string.Join(",", ConfigNames.All<OptimizerName>())).Split(',');
    foreach (var n in names)
        if (!ConfigNames.TryParse<OptimizerName>(n, out _)) throw new ArgumentException($"unknown optimizer '{n}' ({string.Join(", ", ConfigNames.All<OptimizerName>())})");
    // Child lines: state bytes, RSS bytes after the last step, then one step time in seconds per line.
    var results = names.ToDictionary(n => n, n => ChildProcess.Lines("--child-time", n, steps.ToString(CultureInfo.InvariantCulture))
        .Select(line => double.Parse(line, CultureInfo.InvariantCulture)).ToList());
    static double Median(IEnumerable<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
    double? adamw = results.TryGetValue("adamw", out var a) ? Median(a.Skip(2)) : null;
    Console.WriteLine($"model: SmolLM2-135M shape (134.5M parameters, fp32), random gradients, wd 0.01 (sgd: momentum 0.9); median of {steps} steps after 1 warm-up step");
    Console.WriteLine("| optimizer | step (ms) | vs adamw | state (MiB) | RSS after (MiB) |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var (name, r) in results)
    {
        double median = Median(r.Skip(2));
        string ratio = adamw is { } t ? (median / t).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
        Console.WriteLine($"| {name} | {median * 1000:F0} | {ratio} | {Mib(r[0])} | {Mib(r[1])} |");
    }
    return 0;
}

static int ChildTime(string name, int steps)
{
    TorchRuntime.Initialize();
    if (!ConfigNames.TryParse<OptimizerName>(name, out var optimizer)) throw new ArgumentException($"unknown optimizer '{name}'");
    using var model = new CausalLM(BenchModels.SmolLM2Shape);
    ModelInit.Normal(model, 1);
    var named = model.named_parameters().Select(p => new NamedParameter(p.name, p.parameter)).ToList();
    using var gen = new torch.Generator().manual_seed(2);
    foreach (var np in named) np.Parameter.grad = torch.randn(np.Parameter.shape, generator: gen).mul_(1e-3);
    var section = new OptimizerSection { Name = optimizer, Lr = 1e-4, WeightDecay = 0.01, Momentum = optimizer == OptimizerName.Sgd ? 0.9 : 0 };
    using var opt = OptimizerSetup.Create(section, ParamGroups.Build(named, section.Lr, section.WeightDecay), masterWeights: false);
    var times = new List<double>();
    for (int s = 0; s <= steps; s++)
    {
        using (torch.no_grad())
            foreach (var np in named) np.Parameter.grad!.normal_(0, 1e-3, generator: gen);
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        opt.Step();
        if (s > 0) times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds); // step 0 allocates the state
    }
    Console.WriteLine(opt.StateTensors().Values.Sum(t => t.numel() * t.element_size()).ToString(CultureInfo.InvariantCulture));
    Console.WriteLine(ProcessMemory.CurrentRssBytes()!.Value.ToString(CultureInfo.InvariantCulture));
    foreach (var t in times) Console.WriteLine(t.ToString("R", CultureInfo.InvariantCulture));
    return 0;
}
