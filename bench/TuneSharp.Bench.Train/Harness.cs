using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Models.Families;
using TuneSharp.Tokenizers;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Bench.Train;

/// <summary>Measured numbers of one side of a row (medians over its runs).</summary>
public sealed record SideResult(int Runs, double TokensPerSecond, double UsefulTokensPerSecond, double SecondsPerStep,
    double Mfu, long PeakRssBytes, double FirstLoss, IReadOnlyList<double> RunTokensPerSecond);

public sealed record RowResult
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required string Method { get; init; }
    public required string DType { get; init; }
    public required int SeqLen { get; init; }
    public required int MicroBatch { get; init; }
    public required bool Packed { get; init; }
    public required string Status { get; init; }   // ok | skipped | failed
    public string? Reason { get; init; }
    public SideResult? TuneSharp { get; init; }
    public SideResult? PyTorch { get; init; }
    public double? EstimatedPeakBytes { get; init; }
    /// <summary>(estimate - measured) / measured, in %.</summary>
    public double? EstimateErrorPercent { get; init; }
    /// <summary>TuneSharp / PyTorch tokens/s (all tokens; useful tokens for packed rows).</summary>
    public double? SpeedRatio { get; init; }
    public double? RssRatio { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>Runs the rows: model folder, config, batch export, alternating child runs, medians.</summary>
public static class Harness
{
    public static async Task<int> RunAsync(HarnessOptions o)
    {
        int threads = get_num_threads();
        Directory.CreateDirectory(o.Work);
        string pyVersion = PythonVersion(o.Python);
        var machine = MachineInfo.Collect(threads, pyVersion);
        Console.WriteLine($"machine: {machine.Cpu}, {machine.Cores} cores, avx512_bf16 {machine.Avx512Bf16}, {machine.RamGiB} GiB; " +
                          $"TorchSharp {machine.TorchSharp} (libtorch {machine.LibTorch}), PyTorch {pyVersion}; {threads} threads on both sides");
        Console.WriteLine($"rows: {string.Join(", ", o.Rows.Select(r => r.Id))}; {o.Warmup} warm-up + {o.Steps} measured steps, {o.Repeats} runs per side");

        // Matmul peak per model shape and dtype, at M = B*T of the row (capped at 2048).
        var probes = new Dictionary<(string Shape, string DType), MatmulProbe.Result>();
        foreach (var g in o.Rows.GroupBy(r => (r.Shape.Id, r.DType)))
        {
            var args = ModelFamilies.Map(ConfigReader.FromJson(g.First().Shape.Config.ToJsonString()));
            int m = Math.Min(2048, g.Max(r => r.MicroBatch * r.SeqLen));
            var probe = MatmulProbe.Measure(args, m, g.Key.DType == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32);
            probes[g.Key] = probe;
            Console.WriteLine($"matmul peak {g.First().Shape.Title} {g.Key.DType}: {probe.PeakGflops:F0} GFLOP/s " +
                              $"({string.Join(", ", probe.Shapes.Select(s => $"{s.Name} {s.Gflops:F0}"))})");
        }

        var results = new List<RowResult>();
        foreach (var row in o.Rows)
        {
            Console.WriteLine($"== {row.Id}");
            RowResult r;
            try { r = await RunRowAsync(o, row, threads, probes[(row.Shape.Id, row.DType)].PeakGflops); }
            catch (Exception e) when (e is InvalidOperationException or IOException or InvalidDataException)
            {
                r = Base(row) with { Status = "failed", Reason = e.Message };
            }
            Console.WriteLine(Report.RowLines(r));
            results.Add(r);
        }

        var report = new BenchReport(DateTime.Now.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), machine,
            probes.Values.ToList(), new BenchSettings(o.Matrix, o.Warmup, o.Steps, o.Repeats, threads), results);
        string json = o.JsonPath ?? Path.Combine(o.RepoRoot, "bench", "results", $"perf-{DateTime.Now:yyyy-MM-dd}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(json))!);
        File.WriteAllText(json, JsonSerializer.Serialize(report, Json.Options));
        string markdown = Report.Markdown(report);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Console.WriteLine($"json: {json}");
        if (o.WriteDoc)
        {
            string doc = Path.Combine(o.RepoRoot, "docs", "performance.md");
            Report.WriteDoc(doc, markdown);
            Console.WriteLine($"updated {doc}");
        }
        return results.Any(r => r.Status == "failed") ? 1 : 0;
    }

    static RowResult Base(BenchRow row) => new()
    {
        Id = row.Id, Model = row.Shape.Title, Method = row.Method, DType = row.DType, SeqLen = row.SeqLen,
        MicroBatch = row.MicroBatch, Packed = row.Packed, Status = "ok",
    };

    static async Task<RowResult> RunRowAsync(HarnessOptions o, BenchRow row, int threads, double peakGflops)
    {
        var args = ModelFamilies.Map(ConfigReader.FromJson(row.Shape.Config.ToJsonString()));
        if (MemoryCheck(args, row) is { } tooBig) return Base(row) with { Status = "skipped", Reason = tooBig };

        string modelDir = ModelFolder.Ensure(o.Work, row.Shape, o.Fixtures);
        string rowDir = Path.Combine(o.Work, "rows", row.Id);
        Directory.CreateDirectory(rowDir);
        int total = o.Warmup + o.Steps;
        string configPath = Path.Combine(rowDir, "train.yaml");
        File.WriteAllText(configPath, TrainConfigYaml(row, modelDir, Path.Combine(o.Fixtures, "datasets", "gsm8k", "train.jsonl"), total));

        // The batches both sides train on: the trainer's own data pipeline and batch plan, built exactly as
        // TrainRecipe builds them (no shuffle, so the plan is the same in the child process).
        var cfg = ConfigLoader.Load(configPath, [$"output.dir={Path.Combine(rowDir, "probe")}"]);
        var tokenizer = HfTokenizer.Load(modelDir);
        var data = DataSetup.Prepare(cfg, tokenizer, modelDir);
        int padId = tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0;
        var padded = new BatchPlan(data.Train, row.MicroBatch, 1, false, row.SeqLen, padId, cfg.Train.Seed, shuffle: false);
        var trained = row.Packed ? new BatchPlan(data.Train, row.MicroBatch, 1, true, row.SeqLen, padId, cfg.Train.Seed, shuffle: false) : padded;
        var pyBatches = Enumerable.Range(0, total).Select(s => padded.StepBatches(s).Single()).ToList();
        var tsBatches = Enumerable.Range(0, total).Select(s => trained.StepBatches(s).Single()).ToList();
        string batchFile = Path.Combine(rowDir, "batches.jsonl");
        BatchExport.Write(batchFile, pyBatches);

        var tsRuns = new List<(List<double> Seconds, long PeakRss, double FirstLoss, double? Estimate, List<long> Tokens)>();
        var pyRuns = new List<(List<double> Seconds, long PeakRss, double FirstLoss)>();
        for (int rep = 0; rep < o.Repeats; rep++)
        {
            tsRuns.Add(RunTuneSharp(rowDir, configPath, rep));
            pyRuns.Add(RunPyTorch(o, row, modelDir, batchFile, rowDir, threads, rep));
        }

        var notes = new List<string>();
        // The trainer must have trained on exactly the batches we accounted for (real tokens per step).
        var planned = tsBatches.Select(b => (long)b.RealTokens).ToList();
        if (tsRuns.Any(r => !r.Tokens.SequenceEqual(planned)))
            notes.Add("WARNING: TuneSharp's per-step token counts differ from the exported plan");
        var ts = Summarize(tsRuns.Select(r => (r.Seconds, r.PeakRss, r.FirstLoss)).ToList(), tsBatches, args, row, o.Warmup, peakGflops);
        var py = Summarize(pyRuns, pyBatches, args, row, o.Warmup, peakGflops);
        double? estimate = tsRuns[0].Estimate;
        return Base(row) with
        {
            TuneSharp = ts, PyTorch = py, EstimatedPeakBytes = estimate,
            EstimateErrorPercent = estimate is { } e ? 100.0 * (e - ts.PeakRssBytes) / ts.PeakRssBytes : null,
            SpeedRatio = row.Packed ? ts.UsefulTokensPerSecond / py.UsefulTokensPerSecond : ts.TokensPerSecond / py.TokensPerSecond,
            RssRatio = (double)ts.PeakRssBytes / py.PeakRssBytes,
            Notes = notes,
        };
    }

    /// <summary>Medians over runs of: tokens/s over the measured steps (sum of tokens / sum of step seconds), etc.</summary>
    static SideResult Summarize(List<(List<double> Seconds, long PeakRss, double FirstLoss)> runs, List<TrainBatch> batches,
        DecoderArgs a, BenchRow row, int warmup, double peakGflops)
    {
        var measured = batches.Skip(warmup).ToList();
        double cells = measured.Sum(b => (double)b.Rows * b.Length), useful = measured.Sum(b => (double)b.RealTokens);
        double flops = measured.Sum(b => Flops.Batch(a, row.Lora, BenchRow.LoraRank, b.Rows, b.Length));
        var seconds = runs.Select(r => r.Seconds.Skip(warmup).Sum()).ToList();
        return new SideResult(runs.Count,
            Stats.Median(seconds.Select(s => cells / s)),
            Stats.Median(seconds.Select(s => useful / s)),
            Stats.Median(seconds.Select(s => s / measured.Count)),
            Stats.Median(seconds.Select(s => flops / s / 1e9 / peakGflops)),
            (long)Stats.Median(runs.Select(r => (double)r.PeakRss)),
            runs[0].FirstLoss,
            [.. seconds.Select(s => cells / s)]);
    }

    internal static (List<double> Seconds, long PeakRss, double FirstLoss, double? Estimate, List<long> Tokens) RunTuneSharp(string rowDir, string configPath, int rep)
    {
        string outDir = Path.Combine(rowDir, $"ts-run{rep}");
        if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        string result = Path.Combine(rowDir, $"ts-run{rep}.json");
        var psi = new ProcessStartInfo(Environment.ProcessPath!);
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(typeof(Harness).Assembly.Location);
        foreach (var a in new[] { "child", "--config", configPath, "--output-dir", outDir, "--out", result }) psi.ArgumentList.Add(a);
        Run(psi, Path.Combine(rowDir, $"ts-run{rep}.log"), "TuneSharp");
        var r = JsonSerializer.Deserialize<TrainerChild.Result>(File.ReadAllText(result), Json.Options)
                ?? throw new InvalidDataException($"{result}: empty");
        Directory.Delete(outDir, recursive: true); // checkpoints and the final model: not needed, can be GBs
        return ([.. r.Steps.Select(s => s.Seconds)], r.PeakRssBytes, r.Steps[0].Loss, r.EstimatedPeakBytes, [.. r.Steps.Select(s => s.Tokens)]);
    }

    static (List<double>, long, double) RunPyTorch(HarnessOptions o, BenchRow row, string modelDir, string batchFile, string rowDir, int threads, int rep)
    {
        string result = Path.Combine(rowDir, $"py-run{rep}.json");
        var psi = new ProcessStartInfo(o.Python);
        foreach (var a in new[]
                 {
                     Path.Combine(o.RepoRoot, "bench", "pytorch", "hf_like_train.py"), "--model", modelDir, "--batches", batchFile,
                     "--method", row.Lora ? "lora" : "full", "--dtype", row.DType, "--threads", threads.ToString(CultureInfo.InvariantCulture),
                     "--lr", row.LearningRate.ToString("R", CultureInfo.InvariantCulture),
                     "--lora-r", BenchRow.LoraRank.ToString(CultureInfo.InvariantCulture),
                     "--lora-alpha", BenchRow.LoraAlpha.ToString(CultureInfo.InvariantCulture), "--out", result,
                 })
            psi.ArgumentList.Add(a);
        Run(psi, Path.Combine(rowDir, $"py-run{rep}.log"), "PyTorch");
        using var doc = JsonDocument.Parse(File.ReadAllText(result));
        var steps = doc.RootElement.GetProperty("steps").EnumerateArray().ToList();
        return ([.. steps.Select(s => s.GetProperty("seconds").GetDouble())], steps[^1].GetProperty("peak_rss_bytes").GetInt64(),
            steps[0].GetProperty("loss").GetDouble());
    }

    /// <summary>Runs a child process with its stderr in a log file; a failure names the log.</summary>
    static void Run(ProcessStartInfo psi, string log, string side)
    {
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{side}: could not start {psi.FileName}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        File.WriteAllText(log, stdout.Result + stderr);
        Console.WriteLine($"   {side} run: {clock.Elapsed.TotalSeconds:F0} s (exit {p.ExitCode})");
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{side} run failed with exit code {p.ExitCode}{(p.ExitCode == 137 ? " (killed: out of memory?)" : "")}; see {log}");
    }

    static string PythonVersion(string python)
    {
        try
        {
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-c", "import torch; print(torch.__version__)" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string v = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? v : throw new InvalidOperationException($"{python} cannot import torch (run bench/perf/run.sh, which installs python3-torch)");
        }
        catch (System.ComponentModel.Win32Exception) { throw new InvalidOperationException($"{python} not found (apt-get install python3-torch)"); }
    }

    /// <summary>
    /// Skips rows that would not fit: TuneSharp's own pre-flight estimate, and for PyTorch fp32 weights + gradients +
    /// AdamW states, fp32 activations of the explicit-attention decoder and the full [B, T, V] logits (fp32 logits,
    /// their gradient and the saved log-softmax).
    /// </summary>
    static string? MemoryCheck(DecoderArgs a, BenchRow row)
    {
        double ram = GetRamBytes();
        long total = ParameterCount.Of(a).Total;
        long trainable = row.Lora ? (long)Flops.LoraParameters(a, BenchRow.LoraRank) : total;
        int tokensPerRow = row.SeqLen;
        var ts = MemoryEstimator.Estimate(new MemoryEstimateInput
        {
            Model = a, DTypeBytes = row.Bf16 ? 2 : 4, TrainableParameters = trainable, AdapterTraining = row.Lora,
            TrainableDTypeBytes = row.Lora ? 4 : null, MicroBatch = row.MicroBatch, SeqLen = tokensPerRow,
        }).Total;
        double tokens = (double)row.MicroBatch * row.SeqLen;
        double py = total * 4.0 + trainable * 12.0 + (row.Lora ? trainable * 4.0 : 0)
                    + MemoryEstimator.Activations(a, 4, row.MicroBatch, row.SeqLen, false).Total
                    + tokens * a.VocabSize * (12.0 + (row.Bf16 ? 2 : 0)) + MemoryEstimator.DefaultRuntimeBytes;
        const double usable = 0.9;
        if (ts > usable * ram) return $"TuneSharp's estimate {ts / (1L << 30):F1} GiB exceeds 90% of RAM ({ram / (1L << 30):F1} GiB)";
        if (py > usable * ram) return $"the PyTorch baseline needs about {py / (1L << 30):F1} GiB (> 90% of {ram / (1L << 30):F1} GiB RAM)";
        return null;
    }

    static double GetRamBytes()
    {
        foreach (var line in File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo") : [])
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024.0;
        return 16.0 * (1L << 30);
    }

    /// <summary>The row's training config (docs/config.md). output.dir is set per run on the command line.</summary>
    public static string TrainConfigYaml(BenchRow row, string modelDir, string gsm8k, int steps)
    {
        int samples = Math.Min(7473, steps * row.MicroBatch * (row.Packed ? 8 : 1));
        string data = $"""
              datasets:
                - path: {gsm8k}
                  format: prompt_completion
                  columns: {"{"}prompt: question, completion: answer{"}"}
              max_samples: {samples}
            """;
        return TrainConfigYaml(row, modelDir, data, steps);
    }

    /// <summary>The row's training config with its own <c>data.datasets</c> block (indented by 2) and optional
    /// <c>method:</c> keys (indented by 2, e.g. the stage).</summary>
    public static string TrainConfigYaml(BenchRow row, string modelDir, string datasets, int steps, string method = "")
    {
        string lora = row.Lora
            ? $"""
                 lora:
                   r: {BenchRow.LoraRank}
                   alpha: {BenchRow.LoraAlpha}
                   dropout: 0.0
                   targets: all-linear
               """
            : "";
        return $"""
            model:
              path: {modelDir}
              dtype: {row.DType}
            method:
              type: {(row.Lora ? "lora" : "full")}
            {method}
            {lora}
            data:
            {datasets}
              template: chatml
              max_seq_len: {row.SeqLen}
              packing: {(row.Packed ? "true" : "false")}
              shuffle: false
            optimizer:
              name: adamw
              lr: {row.LearningRate.ToString("R", CultureInfo.InvariantCulture)}
              weight_decay: 0.0
            schedule:
              type: linear
            train:
              max_steps: {steps}
              micro_batch_size: {row.MicroBatch}
              grad_accum: 1
              max_grad_norm: 1.0
              seed: 42
            eval:
              at_end: false
            output:
              resume: never
            logging:
              tensorboard: false
              plot: false
              progress: none

            """;
    }
}
