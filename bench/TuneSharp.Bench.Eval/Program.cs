// Eval benchmark (issue 13 item 3): MMLU 5-shot multiple choice scored with the shared-prefix scorer (the few-shot
// prefix and question run once per item with a KV cache, the four choices as one batched forward against it) versus a
// naive loop of one full forward per choice. Reports forwarded tokens (exact) and wall time (median of runs), and the
// largest log-likelihood difference between the two paths.
//
//   dotnet run -c Release --project bench/TuneSharp.Bench.Eval [-- --fixtures ../shared/fixtures --items 2 --runs 3 --smol]
//
// stories260K's own length is 512 tokens; MMLU 5-shot prompts are longer in its 512-token vocabulary and would be
// left-truncated per choice (truncation shifts each choice's window differently, so nothing could be shared, exactly as
// it would not in the harness). The benchmark therefore lifts the length to 4096 (RoPE extends; the cost is what is
// measured). --smol adds a SmolLM2-135M-shaped model with random weights (fp32) fed the same token ids.
using System.Diagnostics;
using TuneSharp.Bench;
using TuneSharp.Core.Native;
using TuneSharp.Eval;
using TuneSharp.Eval.Scoring;
using TuneSharp.Eval.Tasks;
using TuneSharp.Models;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

TorchRuntime.Initialize();
var cli = new BenchArgs(args);
string fixtures = cli.String("--fixtures") ?? Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") ?? "../shared/fixtures";
int itemsPerSubject = cli.Int("--items", 2);
int runs = cli.Int("--runs", 3);
string modelDir = Path.Combine(fixtures, "models", "stories260K-hf");
string mmlu = Path.Combine(fixtures, "datasets", "eval", "mmlu");
var tokenizer = HfTokenizer.Load(modelDir);

var models = new List<(string Name, CausalLM Model)> { ("stories260K", ModelLoader.Load(modelDir)) };
if (args.Contains("--smol"))
{
    var smol = new CausalLM(BenchModels.SmolLM2Shape, ScalarType.Float32);
    ModelInit.Normal(smol, 1);
    models.Add(("SmolLM2-135M shape (random)", smol));
}
Console.WriteLine($"MMLU 5-shot, first {itemsPerSubject} test items of each subject, {get_num_threads()} threads, median of {runs} runs");
Console.WriteLine("| model | items | choices | naive tokens | shared tokens | token ratio | naive s | shared s | time ratio | max abs dll |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var (name, model) in models)
{
    model.eval();
    var options = new EvalOptions { NumFewshot = 5, Limit = itemsPerSubject, MaxLength = 4096 };
    var session = new EvalSession(model, tokenizer, [], options);
    var items = Mmlu.Subjects(mmlu).SelectMany(s => Mmlu.Subject(mmlu, s).Plan(session).Items).Select(i => i.Requests).ToList();
    var naive = Measure(model, items, runs, (scorer, r) => scorer.ScoreIndependent(r, rowsPerForward: 1));
    var shared = Measure(model, items, runs, (scorer, r) => scorer.ScoreShared(r));
    double maxDiff = naive.Scores.Zip(shared.Scores).Max(p => Math.Abs(p.First.LogLikelihood - p.Second.LogLikelihood));
    Console.WriteLine($"| {name} | {items.Count} | {items.Sum(i => i.Count)} | {naive.Tokens} | {shared.Tokens} | " +
                      $"{(double)naive.Tokens / shared.Tokens:F2}x | {naive.Seconds:F2} | {shared.Seconds:F2} | " +
                      $"{naive.Seconds / shared.Seconds:F2}x | {maxDiff:E1} |");
    model.Dispose();
}
return 0;

static (long Tokens, double Seconds, List<ContinuationScore> Scores) Measure(CausalLM model,
    List<IReadOnlyList<ScoreRequest>> items, int runs, Func<LoglikelihoodScorer, IReadOnlyList<ScoreRequest>, ContinuationScore[]> score)
{
    var times = new List<double>();
    long tokens = 0;
    var scores = new List<ContinuationScore>();
    for (int run = 0; run <= runs; run++)
    {
        var scorer = new LoglikelihoodScorer(model, 4096);
        scores.Clear();
        var clock = Stopwatch.StartNew();
        foreach (var requests in items) scores.AddRange(score(scorer, requests));
        if (run > 0) times.Add(clock.Elapsed.TotalSeconds); // run 0 warms up
        tokens = scorer.ForwardedTokens;
    }
    return (tokens, Stats.Median(times), scores);
}
