// Allocator benchmark: the same forward/backward training step with glibc's default malloc thresholds and with the
// setting TuneSharp applies at startup (M_MMAP_MAX=0, M_TRIM_THRESHOLD=INT_MAX). Each setting runs in its own child
// process (mallopt is process-wide), alternating, and the median step times are compared.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Allocator [-- --rounds 3 --steps 6]
using System.Diagnostics;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Models;
using static TorchSharp.torch;

if (args.Length > 0 && args[0] == "--child") return Child(int.Parse(args[1]));

var cli = new BenchArgs(args);
int rounds = cli.Int("--rounds", 3), steps = cli.Int("--steps", 6);
var times = new Dictionary<string, List<double>> { ["default"] = [], ["tuned"] = [] };
for (int r = 0; r < rounds; r++)
    foreach (var mode in new[] { "default", "tuned" })
        times[mode].Add(RunChild(mode, steps));
double def = Stats.Median(times["default"]), tuned = Stats.Median(times["tuned"]);
Console.WriteLine($"model: 57M-parameter Llama-like (hidden 512, 8 layers, vocab 32000), B=4, T=512, fp32, {get_num_threads()} threads");
Console.WriteLine($"| malloc setting | median ms/step | runs |");
Console.WriteLine($"| --- | --- | --- |");
Console.WriteLine($"| glibc defaults | {def:F0} | {string.Join(", ", times["default"].Select(t => t.ToString("F0")))} |");
Console.WriteLine($"| TuneSharp (mmap_max=0, trim=INT_MAX) | {tuned:F0} | {string.Join(", ", times["tuned"].Select(t => t.ToString("F0")))} |");
Console.WriteLine($"speed-up: {def / tuned:F2}x");
return 0;

static double RunChild(string mode, int steps)
{
    var psi = ChildProcess.StartInfo("--child", steps.ToString());
    psi.Environment[Allocator.EnvironmentVariable] = mode == "default" ? "default" : "";
    string output = ChildProcess.Run(psi);
    return double.Parse(output.Trim().Split('\n')[^1], System.Globalization.CultureInfo.InvariantCulture);
}

static int Child(int steps)
{
    TorchRuntime.Initialize();
    var argsModel = new DecoderArgs
    {
        ModelType = "llama", VocabSize = 32000, HiddenSize = 512, IntermediateSize = 1376, NumHiddenLayers = 8,
        NumAttentionHeads = 8, NumKeyValueHeads = 8, HeadDim = 64, MaxPositionEmbeddings = 2048, RmsNormEps = 1e-5,
        Rope = new RopeArgs(10000, new RopeScaling.None()), TieWordEmbeddings = false,
    };
    using var model = new CausalLM(argsModel);
    ModelInit.Normal(model, 1);
    using var ids = randint(0, 32000, [4, 512], dtype: ScalarType.Int64);
    var stepTimes = new List<double>();
    for (int s = 0; s < steps + 1; s++)
    {
        var clock = Stopwatch.StartNew();
        using (var scope = NewDisposeScope())
        {
            var logits = model.Forward(ids);
            var loss = nn.functional.cross_entropy(logits.view(-1, 32000), ids.view(-1));
            loss.backward();
        }
        model.zero_grad();
        if (s > 0) stepTimes.Add(clock.Elapsed.TotalMilliseconds); // step 0 is warm-up
    }
    Console.WriteLine(Stats.Median(stepTimes).ToString(System.Globalization.CultureInfo.InvariantCulture));
    return 0;
}
