// QLoRA memory benchmark: resident memory of one LoRA training step (forward, chunked loss, backward; B=1, T=256,
// r=16 on all linear projections) on a bf16 base versus NF4 / int8 quantized bases, for a SmolLM2-135M-shaped model
// with random weights. A quantized base only exists by loading a checkpoint (weights are quantized at load), so the
// parent writes one bf16 checkpoint to a temp folder and each setting loads it in a fresh child process: mallopt is
// process-wide and VmHWM (peak RSS from /proc/self/status) must belong to that setting alone.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Qlora [-- --rounds 2 --settings lora-bf16,qlora-nf4,qlora-nf4-nodq,qlora-int8]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Models;
using TuneSharp.Models.Families;
using TuneSharp.Peft;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Losses;
using static TorchSharp.torch;

const int Batch = 1, SeqLen = 256, Rank = 16;
var inv = CultureInfo.InvariantCulture;
// The settings: null = LoRA on the bf16 base.
var quantBySetting = new Dictionary<string, QuantSettings?>
{
    ["lora-bf16"] = null,
    ["qlora-nf4"] = new QuantSettings(4, 64, true),
    ["qlora-nf4-nodq"] = new QuantSettings(4, 64, false),
    ["qlora-int8"] = new QuantSettings(8),
};

if (args.Length == 3 && args[0] == "--child") return Child(args[1], args[2]);

var cli = new BenchArgs(args);
int rounds = cli.Int("--rounds", 1);
string[] settings = (cli.String("--settings") ?? string.Join(',', quantBySetting.Keys)).Split(',');
foreach (var s in settings)
    if (!quantBySetting.ContainsKey(s))
        throw new ArgumentException($"--settings: unknown setting '{s}' (known: {string.Join(", ", quantBySetting.Keys)})");

string dir = Path.Combine(Path.GetTempPath(), $"tunesharp-bench-qlora-{Environment.ProcessId}");
try
{
    var clock = Stopwatch.StartNew();
    WriteCheckpoint(dir);
    Console.Error.WriteLine($"checkpoint written to {dir} in {clock.Elapsed.TotalSeconds:F1} s");

    // Rounds alternate the settings; memory is deterministic up to allocator noise, the table keeps the max per setting.
    var runs = settings.ToDictionary(s => s, _ => new List<ChildResult>());
    for (int r = 0; r < rounds; r++)
        foreach (var s in settings)
        {
            var result = RunChild(s, dir);
            Console.Error.WriteLine($"round {r + 1} {s}: {result}");
            runs[s].Add(result);
        }

    Console.WriteLine("model: SmolLM2-135M shape (hidden 576, 30 layers, 9 heads / 3 KV, FFN 1536, vocab 49152, tied), random bf16 weights");
    Console.WriteLine($"step: LoRA r={Rank} alpha={2 * Rank} dropout 0.05 on all 210 projections, B={Batch}, T={SeqLen}, bf16 compute, fp32 adapters, " +
                      $"chunked fp32 loss, forward + backward, 2 steps; {rounds} fresh process(es) per setting, max shown");
    Console.WriteLine();
    Console.WriteLine("| setting | projection weights as stored | whole base (+ embedding, norms) | RSS after load | peak RSS during load | " +
                      "peak RSS during step 1 | peak RSS during step 2 | step 2 peak - after load | ratio vs lora-bf16 (base / step 2 peak) | loss |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    var reference = runs.TryGetValue("lora-bf16", out var refRuns) ? Max(refRuns) : (ChildResult?)null;
    foreach (var (s, rs) in runs)
    {
        var m = Max(rs);
        string ratio = reference is { } b
            ? $"{(double)m.BaseBytes / b.BaseBytes:F2} / {(double)m.StepPeakBytes / b.StepPeakBytes:F2}"
            : "-";
        Console.WriteLine($"| {s} | {Mib(m.ProjectionBytes)} | {Mib(m.BaseBytes)} | {Mib(m.RssAfterLoadBytes)} | {Mib(m.LoadPeakBytes)} | " +
                          $"{Mib(m.FirstStepPeakBytes)} | {Mib(m.StepPeakBytes)} | {Mib(m.StepPeakBytes - m.RssAfterLoadBytes)} | {ratio} | {m.Loss.ToString("F4", inv)} |");
    }
    Console.Error.WriteLine($"total {clock.Elapsed.TotalSeconds:F0} s");
    return 0;
}
finally
{
    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
}

static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

// Per field the largest value over the runs (RSS noise only ever adds).
static ChildResult Max(List<ChildResult> rs) => new(
    rs[0].ProjectionBytes, rs[0].BaseBytes, rs.Max(r => r.RssAfterLoadBytes), rs.Max(r => r.LoadPeakBytes),
    rs.Max(r => r.FirstStepPeakBytes), rs.Max(r => r.StepPeakBytes), rs[0].Loss, rs.Max(r => r.StepSeconds));

// SmolLM2-135M's config.json values (HF model card), random weights ~ N(0, 0.02) in bf16.
static void WriteCheckpoint(string dir)
{
    TorchRuntime.Initialize();
    Directory.CreateDirectory(dir);
    var config = new Dictionary<string, object>
    {
        ["architectures"] = new[] { "LlamaForCausalLM" }, ["model_type"] = "llama", ["hidden_size"] = 576,
        ["num_hidden_layers"] = 30, ["num_attention_heads"] = 9, ["num_key_value_heads"] = 3, ["head_dim"] = 64,
        ["intermediate_size"] = 1536, ["vocab_size"] = 49152, ["tie_word_embeddings"] = true, ["rope_theta"] = 100000.0,
        ["max_position_embeddings"] = 2048, ["rms_norm_eps"] = 1e-5, ["hidden_act"] = "silu", ["torch_dtype"] = "bfloat16",
    };
    string configPath = Path.Combine(dir, "config.json");
    File.WriteAllText(configPath, JsonSerializer.Serialize(config));
    var modelArgs = ModelFamilies.FromConfigFile(configPath);
    using var model = new CausalLM(modelArgs, ScalarType.BFloat16);
    ModelInit.Normal(model, seed: 1);
    SafeTensorsWriter.WriteSharded(dir, model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
}

static ChildResult RunChild(string setting, string dir)
{
    string output = ChildProcess.Run("--child", setting, dir);
    var f = output.Trim().Split('\n')[^1].Split(' ');
    if (f.Length != 8) throw new InvalidDataException($"child '{setting}': unexpected output '{output.Trim()}'");
    return new ChildResult(long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
        long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture),
        long.Parse(f[4], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture),
        double.Parse(f[6], CultureInfo.InvariantCulture), double.Parse(f[7], CultureInfo.InvariantCulture));
}

// One setting. Prints "<projection bytes> <base bytes> <RSS after load> <peak RSS of the load> <peak RSS of step 1>
// <peak RSS of step 2> <mean token loss> <step 2 seconds>" (sizes in bytes).
int Child(string setting, string dir)
{
    TorchRuntime.Initialize(); // mallopt as in training, then libtorch
    var lora = LoraSettings.Create(Rank, 2 * Rank, LoraSettings.AllLinear) with { Dropout = 0.05, Quant = quantBySetting[setting] };
    var policy = new LoraPolicy(lora);
    using var model = policy.LoadModel(dir, ScalarType.BFloat16, seed: 2);
    model.train();

    // Free heap left by load-time temporaries (bf16 tensors read from disk, fp32 copies for quantizing) goes back to
    // the OS first, so "after load" is what the loaded model holds.
    long loadPeak = ProcessMemory.PeakRssBytes() ?? -1;
    ProcessMemory.TrimNativeHeap();
    long afterLoad = ProcessMemory.CurrentRssBytes() ?? -1;
    var (projection, baseBytes) = BaseStorage(model);

    using var gen = new Generator().manual_seed(3);
    using var ids = randint(0, model.Args.VocabSize, [Batch, SeqLen], dtype: ScalarType.Int64, generator: gen);
    // Step 1 also pays one-time costs (libtorch code pages and kernel caches touched for the first time); step 2 is
    // what every later step of a run costs. The heap is trimmed before each reset so the peak starts from live data.
    var (firstPeak, _, _) = MeasuredStep(model, ids);
    var (stepPeak, loss, seconds) = MeasuredStep(model, ids);
    Console.WriteLine(string.Join(' ', projection, baseBytes, afterLoad, loadPeak, firstPeak, stepPeak,
        loss.ToString("R", CultureInfo.InvariantCulture), seconds.ToString("R", CultureInfo.InvariantCulture)));
    return 0;
}

// One training step (forward, chunked loss, backward); returns its peak RSS (bytes), mean token loss and seconds.
static (long Peak, double Loss, double Seconds) MeasuredStep(CausalLM model, Tensor ids)
{
    ProcessMemory.TrimNativeHeap();
    if (!ProcessMemory.ResetPeak()) throw new InvalidOperationException("/proc/self/clear_refs: cannot reset the peak RSS");
    var clock = Stopwatch.StartNew();
    double loss;
    using (var scope = NewDisposeScope())
    {
        manual_seed(4); // same dropout masks in every setting
        var hidden = model.Hidden(ids);                                          // [B, T, 576] bf16
        var (sum, count) = CausalLmLoss.Compute(hidden, model.LmHeadWeight, CausalLmLoss.ShiftLabels(ids));
        var mean = sum / count;
        mean.backward();
        loss = mean.item<float>();
    }
    double seconds = clock.Elapsed.TotalSeconds;
    long peak = ProcessMemory.PeakRssBytes() ?? -1;
    model.zero_grad();
    return (peak, loss, seconds);
}

// Projection weights as stored (bf16 LoRA bases, or QuantizedMemory() for quantized ones) and the whole frozen base:
// every non-adapter parameter and every buffer (quantized codes and scales, NF4 lookup tables).
static (long Projection, long Base) BaseStorage(CausalLM model)
{
    long projection = model.QuantizedMemory().QuantizedBytes;
    foreach (var (_, layer) in model.Adapters())
        if (layer is LoraLinear l) projection += Bytes(l.Weight);
    long total = model.named_parameters().Where(p => !AdapterModel.IsAdapterParameter(p.name)).Sum(p => Bytes(p.parameter))
                 + model.named_buffers().Sum(b => Bytes(b.buffer));
    return (projection, total);
}

static long Bytes(Tensor t) => t.NumberOfElements * t.ElementSize;

readonly record struct ChildResult(long ProjectionBytes, long BaseBytes, long RssAfterLoadBytes, long LoadPeakBytes,
    long FirstStepPeakBytes, long StepPeakBytes, double Loss, double StepSeconds);
