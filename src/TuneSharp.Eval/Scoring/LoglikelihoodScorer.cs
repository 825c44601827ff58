using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Eval.Scoring;

/// <summary>
/// Scores continuations with a causal LM (no gradients). <see cref="ScoreShared"/> is the evaluation path: the requests
/// of one item (the choices of a multiple-choice question) share their leading tokens (few-shot prefix and question),
/// which run once with a KV cache; the choices' own tokens then run as right-padded rows of one batched forward against
/// that cache. <see cref="ScoreIndependent"/> runs each request on its own rows (the naive baseline when
/// <c>rowsPerForward</c> = 1, and perplexity windows, which share nothing). <see cref="ForwardedTokens"/> counts every
/// position a forward computed, padding included.
/// </summary>
public sealed class LoglikelihoodScorer(CausalLM model, int maxLength, int maxRowsPerForward = 32)
{
    public int MaxLength => maxLength;
    public long ForwardedTokens { get; private set; }
    public long Forwards { get; private set; }

    /// <summary>Scores requests that belong together (one item's choices), sharing their common token prefix.</summary>
    public ContinuationScore[] ScoreShared(IReadOnlyList<ScoreRequest> requests)
    {
        var windows = requests.Select(r => r.Window(maxLength)).ToArray();
        // The shared prefix: common leading input tokens, ending before any scored position (each row keeps >= 1 token).
        int shared = CommonPrefix(windows.Select(w => w.Input).ToArray());
        shared = Math.Min(shared, windows.Min(w => w.First));
        if (shared == 0) return ScoreRows(windows, null);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = model.NewCache(1, shared);
        var device = model.LmHeadWeight.device;
        var prefixIds = tensor(windows[0].Input[..shared].Select(i => (long)i).ToArray(), [1, shared], device: device);
        model.Hidden(prefixIds, cache: cache); // fills the cache; its hidden states are not needed
        Count(shared, 1);
        return ScoreRows(windows.Select(w => w.Skip(shared)).ToArray(), new PrefixKvCache(cache));
    }

    /// <summary>Scores each request on its own row, <paramref name="rowsPerForward"/> rows per forward (no sharing).</summary>
    public ContinuationScore[] ScoreIndependent(IReadOnlyList<ScoreRequest> requests, int rowsPerForward = 1)
    {
        var windows = requests.Select(r => r.Window(maxLength)).ToArray();
        var result = new List<ContinuationScore>(windows.Length);
        foreach (var chunk in windows.Chunk(Math.Max(1, rowsPerForward)))
            result.AddRange(ScoreRows(chunk, null));
        return [.. result];
    }

    ContinuationScore[] ScoreRows(ScoredRow[] rows, PrefixKvCache? prefix)
    {
        var result = new List<ContinuationScore>(rows.Length);
        foreach (var chunk in rows.Chunk(maxRowsPerForward)) result.AddRange(Forward(chunk, prefix));
        return [.. result];
    }

    /// <summary>One forward over right-padded rows (a real token never sees the padding after it, so no key mask is
    /// needed); log-probabilities only at the scored positions.</summary>
    ContinuationScore[] Forward(ScoredRow[] rows, PrefixKvCache? prefix)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int b = rows.Length, t = rows.Max(r => r.Input.Length);
        var ids = new long[b * t];
        var rowIndex = new List<long>();
        var posIndex = new List<long>();
        for (int r = 0; r < b; r++)
        {
            var row = rows[r];
            for (int i = 0; i < row.Input.Length; i++) ids[r * t + i] = row.Input[i];
            for (int i = row.First; i < row.Input.Length; i++)
            {
                rowIndex.Add(r);
                posIndex.Add(i);
            }
        }
        Count(t, b);
        var device = model.LmHeadWeight.device;
        var hidden = model.Hidden(tensor(ids, [b, t], device: device), cache: prefix);                 // [B, T, hidden]
        var picked = hidden.index([TensorIndex.Tensor(tensor(rowIndex.ToArray(), device: device)),
                                   TensorIndex.Tensor(tensor(posIndex.ToArray(), device: device))]); // [N, hidden]
        var logProbs = model.Logits(picked).to(ScalarType.Float32).log_softmax(-1);                     // [N, V] fp32
        var lp = logProbs.cpu().contiguous().data<float>().ToArray();
        var argmax = logProbs.argmax(-1).cpu().data<long>().ToArray();
        return Collect(rows, lp, argmax, (int)logProbs.shape[1]);
    }

    static ContinuationScore[] Collect(ScoredRow[] rows, float[] lp, long[] argmax, int vocab)
    {
        var scores = new ContinuationScore[rows.Length];
        int n = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            double sum = 0;
            bool greedy = true;
            foreach (int target in rows[r].Targets)
            {
                sum += lp[n * vocab + target]; // summed in double (the harness sums in fp32: equal to ~1e-6)
                greedy &= argmax[n] == target;
                n++;
            }
            scores[r] = new ContinuationScore(sum, greedy);
        }
        return scores;
    }

    static int CommonPrefix(int[][] inputs)
    {
        int n = inputs.Min(i => i.Length);
        for (int k = 0; k < n; k++)
            for (int r = 1; r < inputs.Length; r++)
                if (inputs[r][k] != inputs[0][k]) return k;
        return n;
    }

    void Count(int t, int b)
    {
        ForwardedTokens += (long)t * b;
        Forwards++;
    }
}
