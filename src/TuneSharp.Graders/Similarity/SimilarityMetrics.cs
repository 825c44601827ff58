namespace TuneSharp.Graders.Similarity;

/// <summary>
/// The text_similarity metrics, each in [0, 1]; <c>hypothesis</c> is the graded text (<c>input</c>), <c>reference</c>
/// the expected one. Goldens: tools/graders/similarity_goldens.py (nltk 3.8 for BLEU and GLEU, plain Python following
/// rapidfuzz and rouge_score for the others).
/// </summary>
public static class SimilarityMetrics
{
    /// <summary>
    /// rapidfuzz's <c>fuzz.ratio</c> / 100: the normalized Indel similarity 1 - indel_distance / (|a| + |b|)
    /// = 2·LCS(a, b) / (|a| + |b|) over code points, case-sensitive, no preprocessing; two empty strings give 1.
    /// </summary>
    public static double FuzzyRatio(string hypothesis, string reference)
    {
        int[] a = TextTokens.CodePoints(hypothesis), b = TextTokens.CodePoints(reference);
        int total = a.Length + b.Length;
        return total == 0 ? 1.0 : 2.0 * TextTokens.Lcs(a, b) / total;
    }

    /// <summary>
    /// Sentence BLEU-4 (Papineni et al. 2002) against one reference: uniform weights 1/4 over clipped n-gram precisions
    /// p1..p4, brevity penalty exp(1 - r/c) when c &lt;= r, smoothed with Chen &amp; Cherry (2014) method 3 (nltk's
    /// <c>SmoothingFunction().method3</c>, the NIST geometric sequence): the k-th precision with zero matches becomes
    /// 1 / (2^k · its denominator). No unigram match gives 0. Tokens: <see cref="TextTokens.Words"/>.
    /// </summary>
    public static double Bleu(string hypothesis, string reference)
    {
        string[] hyp = TextTokens.Words(hypothesis), refs = TextTokens.Words(reference);
        const int maxN = 4;
        var logs = new double[maxN];
        int zeroRun = 0;
        for (int n = 1; n <= maxN; n++)
        {
            var h = TextTokens.NGrams(hyp, n);
            int matches = TextTokens.Overlap(h, TextTokens.NGrams(refs, n));
            int denominator = Math.Max(1, hyp.Length - n + 1);
            if (n == 1 && matches == 0) return 0;
            logs[n - 1] = matches > 0 ? Math.Log((double)matches / denominator) : Math.Log(1.0 / (Math.Pow(2, ++zeroRun) * denominator));
        }
        int c = hyp.Length, r = refs.Length;
        double bp = c > r ? 1 : Math.Exp(1 - (double)r / c);
        return bp * Math.Exp(logs.Sum() / maxN);
    }

    /// <summary>
    /// Sentence GLEU (Google BLEU, Wu et al. 2016; nltk's <c>sentence_gleu</c>): over all 1..4-grams together,
    /// matches / max(hypothesis n-grams, reference n-grams) = min(precision, recall); 0 when both are empty.
    /// </summary>
    public static double Gleu(string hypothesis, string reference)
    {
        string[] hyp = TextTokens.Words(hypothesis), refs = TextTokens.Words(reference);
        int matches = 0, hypTotal = 0, refTotal = 0;
        for (int n = 1; n <= 4; n++)
        {
            var h = TextTokens.NGrams(hyp, n);
            var r = TextTokens.NGrams(refs, n);
            matches += TextTokens.Overlap(h, r);
            hypTotal += h.Values.Sum();
            refTotal += r.Values.Sum();
        }
        int all = Math.Max(hypTotal, refTotal);
        return all == 0 ? 0 : (double)matches / all;
    }

    /// <summary>
    /// ROUGE-N F-measure as rouge_score computes it (no stemming): clipped n-gram overlap, precision over the
    /// hypothesis' n-grams, recall over the reference's (each denominator at least 1), F = 2PR/(P+R), 0 when P+R = 0.
    /// </summary>
    public static double RougeN(string hypothesis, string reference, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var h = TextTokens.NGrams(TextTokens.Rouge(hypothesis), n);
        var r = TextTokens.NGrams(TextTokens.Rouge(reference), n);
        int overlap = TextTokens.Overlap(h, r);
        return F1((double)overlap / Math.Max(1, h.Values.Sum()), (double)overlap / Math.Max(1, r.Values.Sum()));
    }

    /// <summary>ROUGE-L F-measure (rouge_score): LCS of the token sequences; 0 when either side has no tokens.</summary>
    public static double RougeL(string hypothesis, string reference)
    {
        string[] h = TextTokens.Rouge(hypothesis), r = TextTokens.Rouge(reference);
        if (h.Length == 0 || r.Length == 0) return 0;
        int lcs = TextTokens.Lcs(h, r);
        return F1((double)lcs / h.Length, (double)lcs / r.Length);
    }

    /// <summary>TuneSharp's <c>exact</c>: 1 when the texts are equal after trimming surrounding whitespace, else 0.</summary>
    public static double Exact(string hypothesis, string reference) =>
        string.Equals(hypothesis.Trim(), reference.Trim(), StringComparison.Ordinal) ? 1 : 0;

    /// <summary>Cosine similarity of two embedding vectors.</summary>
    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"embedding sizes differ: {a.Count} vs {b.Count}");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Count; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    static double F1(double p, double r) => p + r > 0 ? 2 * p * r / (p + r) : 0;
}
