// Optimizer memory benchmark: resident memory (VmRSS) over many AdamW steps on the parameters of a SmolLM2-135M-shaped
// model (random weights, fresh random gradients each step), for TuneSharp's AdamW (one dispose scope per parameter) and
// TorchSharp's built-in torch.optim.AdamW (temporaries of the whole step live in the caller's scope). Each optimizer runs
// in a fresh child process. No forward/backward: only what the optimizer itself allocates is measured.
//
// A child stops early when its RSS passes --max-rss-gib (default 6), so a growing optimizer cannot take the machine down.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Optimizer [-- --steps 200 --optimizers tunesharp,torchsharp --max-rss-gib 6]
using System.Globalization;
using TorchSharp;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Models;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Optim;
using static TorchSharp.torch;

var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "--child") return Child(args[1], int.Parse(args[2], inv), double.Parse(args[3], inv));

var cli = new BenchArgs(args);
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
        var adam = new AdamW(ParamGroups.Build(named, 1e-4, 0.01));
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
