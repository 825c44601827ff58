// Side-by-side training benchmark: TuneSharp's real trainer (TrainRun.RunAsync) against a PyTorch eager baseline that
// trains like the Hugging Face Trainer + PEFT (bench/pytorch/hf_like_train.py), on the same random-weight model and the
// same padded GSM8K micro-batches. See docs/performance.md; run it with bench/perf/run.sh.
//
//   bench/perf/run.sh [--matrix default|full] [--rows id,id] [--steps 6] [--warmup 2] [--repeats 2]
//                     [--json path] [--write-doc] [--work dir] [--fixtures dir] [--python /usr/bin/python3]
//   bench/perf/run.sh --preference [--dtype bf16|fp32] [--steps 6] [--warmup 2] [--repeats 2]   DPO vs SFT step (PreferenceBench)
using TuneSharp.Bench.Train;
using TuneSharp.Core.Native;

TorchRuntime.Initialize();
if (args.Length > 0 && args[0] == "child")
    return await TrainerChild.RunAsync(Arg("--config"), Arg("--output-dir"), Arg("--out"));
try
{
    // --preference [--dtype bf16|fp32]: the DPO rows (PreferenceBench) instead of the side-by-side matrix.
    int pref = Array.IndexOf(args, "--preference");
    if (pref >= 0)
    {
        var rest = args.Where((_, i) => i != pref).ToList();
        int d = rest.IndexOf("--dtype");
        string dtype = d >= 0 && d + 1 < rest.Count ? rest[d + 1] : "bf16";
        if (d >= 0) rest.RemoveRange(d, Math.Min(2, rest.Count - d));
        if (dtype is not ("bf16" or "fp32")) throw new ArgumentException($"--dtype: '{dtype}' is not bf16 or fp32");
        return PreferenceBench.Run(HarnessOptions.Parse([.. rest]), dtype == "bf16");
    }
    return await Harness.RunAsync(HarnessOptions.Parse(args));
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

string Arg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"child: missing {name}");
}
