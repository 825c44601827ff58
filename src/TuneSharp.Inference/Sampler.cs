namespace TuneSharp.Inference;

/// <summary>
/// Picks the next token from one row of logits, in managed code (a vocabulary row is small next to a forward pass).
/// Order as in HF generate: repetition penalty, then temperature, top-k, top-p, min-p, then sample.
/// </summary>
public sealed class Sampler
{
    readonly SamplingOptions _o;
    readonly Random _random;

    public Sampler(SamplingOptions options)
    {
        options.Validate();
        _o = options;
        _random = options.Seed is { } s ? new Random(unchecked((int)s ^ (int)(s >> 32))) : new Random();
    }

    /// <summary>Next token id. <paramref name="logits"/> is modified in place. <paramref name="seen"/>: ids already in the sequence.</summary>
    public int Next(float[] logits, IReadOnlySet<int>? seen)
    {
        if (_o.RepetitionPenalty != 1.0 && seen != null)
        {
            float p = (float)_o.RepetitionPenalty;
            foreach (int id in seen)
                if ((uint)id < (uint)logits.Length)
                    logits[id] = logits[id] < 0 ? logits[id] * p : logits[id] / p;
        }
        if (_o.Greedy) return ArgMax(logits);

        // Candidates sorted by logit, descending; temperature does not change the order.
        int n = logits.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(order, (a, b) => logits[b].CompareTo(logits[a]));
        int keep = _o.TopK > 0 ? Math.Min(_o.TopK, n) : n;

        // Softmax of the kept candidates at this temperature (max-subtracted, double accumulation).
        double t = _o.Temperature, max = logits[order[0]];
        var probs = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) sum += probs[i] = Math.Exp((logits[order[i]] - max) / t);
        for (int i = 0; i < keep; i++) probs[i] /= sum;

        if (_o.TopP < 1.0)
        {
            // Smallest prefix whose mass reaches top_p (at least one token).
            double cum = 0;
            int cut = 0;
            while (cut < keep)
            {
                cum += probs[cut++];
                if (cum >= _o.TopP) break;
            }
            keep = cut;
        }
        if (_o.MinP > 0)
        {
            double threshold = _o.MinP * probs[0];
            int cut = 1;
            while (cut < keep && probs[cut] >= threshold) cut++;
            keep = cut;
        }

        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[i];
        double r = _random.NextDouble() * total;
        for (int i = 0; i < keep; i++)
        {
            r -= probs[i];
            if (r < 0) return order[i];
        }
        return order[keep - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}
