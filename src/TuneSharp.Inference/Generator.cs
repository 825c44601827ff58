using System.Diagnostics;
using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Inference;

/// <summary>Timing of one <see cref="Generator.Generate"/> call.</summary>
public sealed class GenerationStats
{
    public int PromptTokens { get; internal set; }
    public int GeneratedTokens { get; internal set; }
    public TimeSpan Prefill { get; internal set; }
    public TimeSpan Decode { get; internal set; }
    public double DecodeTokensPerSecond => Decode.TotalSeconds > 0 ? (GeneratedTokens - BatchRows) / Decode.TotalSeconds : 0;
    internal int BatchRows { get; set; }
}

/// <summary>
/// Batched generation: one prefill over left-padded prompts, then one decode step per token, with a preallocated KV
/// cache. Yields, per step, the new token of each row (null once a row has stopped). Breaking out of the enumeration
/// stops generation and frees the cache.
/// </summary>
public sealed class Generator(CausalLM model)
{
    public GenerationStats LastStats { get; private set; } = new();

    public IEnumerable<int?[]> Generate(IReadOnlyList<int[]> prompts, SamplingOptions options)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts", nameof(prompts));
        if (prompts.Any(p => p.Length == 0))
            throw new ArgumentException("every prompt needs at least one token (e.g. BOS)", nameof(prompts));
        int vocab = model.Args.VocabSize;
        foreach (var id in prompts.SelectMany(p => p))
            if ((uint)id >= (uint)vocab) throw new ArgumentException($"prompt token id {id} is outside the vocabulary (0..{vocab - 1})");

        var samplers = prompts.Select(_ => new Sampler(options)).ToArray();
        var seen = prompts.Select(p => new HashSet<int>(p)).ToArray();
        var stats = LastStats = new GenerationStats
        {
            PromptTokens = prompts.Sum(p => p.Length),
            BatchRows = prompts.Count,
        };
        if (options.MaxNewTokens == 0) yield break;

        int rows = prompts.Count, longest = prompts.Max(p => p.Length);
        int capacity = longest + options.MaxNewTokens;
        var stop = options.StopTokenIds as IReadOnlySet<int> ?? options.StopTokenIds.ToHashSet();
        var finished = new bool[rows];
        var nextPositions = prompts.Select(p => (long)p.Length).ToArray();

        using var cache = model.NewCache(rows, capacity);
        // Key padding for the whole run [B, capacity]: prompts are left-padded, generated positions are real.
        using var keyPadding = zeros(rows, capacity, dtype: ScalarType.Int64, device: model.LmHeadWeight.device);
        var clock = Stopwatch.StartNew();

        int?[] step = Prefill(prompts, longest, cache, keyPadding, samplers, seen);
        stats.Prefill = clock.Elapsed;
        clock.Reset(); // decode time counts only the decode steps, not the consumer's work between them

        for (int produced = 1; ; produced++)
        {
            for (int r = 0; r < rows; r++)
            {
                if (step[r] is not { } tok) continue;
                if (stop.Contains(tok)) { finished[r] = true; step[r] = null; }
                else seen[r].Add(tok);
            }
            stats.GeneratedTokens += step.Count(t => t != null);
            stats.Decode = clock.Elapsed;
            if (step.All(t => t == null)) yield break;
            yield return step;
            if (produced >= options.MaxNewTokens) yield break;
            clock.Start();
            step = DecodeStep(step, finished, nextPositions, cache, keyPadding, samplers, seen);
            clock.Stop();
        }
    }

    int?[] Prefill(IReadOnlyList<int[]> prompts, int longest, Models.Common.KvCache cache, Tensor keyPadding,
        Sampler[] samplers, HashSet<int>[] seen)
    {
        using var scope = NewDisposeScope();
        int rows = prompts.Count;
        var ids = new long[rows * longest];
        var positions = new long[rows * longest];
        for (int r = 0; r < rows; r++)
        {
            int pad = longest - prompts[r].Length;
            for (int i = 0; i < prompts[r].Length; i++)
            {
                ids[r * longest + pad + i] = prompts[r][i];
                positions[r * longest + pad + i] = i; // positions start at 0 after the left padding
            }
            keyPadding[r, pad..longest].fill_(1);
        }
        using var noGrad = no_grad();
        var device = model.LmHeadWeight.device;
        var input = tensor(ids, [rows, longest], device: device);
        var pos = tensor(positions, [rows, longest], device: device);
        var hidden = model.Hidden(input, pos, keyPadding[.., ..longest], cache: cache);
        var last = model.Logits(hidden[.., -1]).to(ScalarType.Float32); // [B, V]: only the last position is needed
        return SampleRows(last, null, samplers, seen);
    }

    int?[] DecodeStep(int?[] previous, bool[] finished, long[] nextPositions, Models.Common.KvCache cache,
        Tensor keyPadding, Sampler[] samplers, HashSet<int>[] seen)
    {
        using var scope = NewDisposeScope();
        int rows = previous.Length;
        var ids = new long[rows];
        var positions = new long[rows];
        for (int r = 0; r < rows; r++)
        {
            ids[r] = previous[r] ?? 0; // finished rows keep decoding a dummy token; their output is ignored
            positions[r] = nextPositions[r]++;
        }
        int s = cache.Length + 1;
        keyPadding[.., s - 1].fill_(1);
        using var noGrad = no_grad();
        var device = model.LmHeadWeight.device;
        var logits = model.Forward(tensor(ids, [rows, 1], device: device), tensor(positions, [rows, 1], device: device), keyPadding[.., ..s], cache: cache);
        return SampleRows(logits[.., -1].to(ScalarType.Float32), finished, samplers, seen);
    }

    static int?[] SampleRows(Tensor logits, bool[]? finished, Sampler[] samplers, HashSet<int>[] seen)
    {
        int rows = (int)logits.shape[0], vocab = (int)logits.shape[1];
        var all = logits.cpu().contiguous().data<float>().ToArray(); // sampling runs on the host
        var result = new int?[rows];
        for (int r = 0; r < rows; r++)
        {
            if (finished?[r] == true) continue;
            var row = new float[vocab];
            Array.Copy(all, r * vocab, row, 0, vocab);
            result[r] = samplers[r].Next(row, seen[r]);
        }
        return result;
    }
}
