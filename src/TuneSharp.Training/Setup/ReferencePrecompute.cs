using System.Diagnostics;
using TuneSharp.Data.Cache;
using TuneSharp.Data.Encoding;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using TuneSharp.Training.Losses.Preference;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Runtime;
using static TorchSharp.torch;

namespace TuneSharp.Training.Setup;

/// <summary>
/// DPO's <c>precompute_ref_log_probs</c>: the reference model's summed log-probs of every training and validation pair's
/// two completions, computed once before training (no gradients, <c>train.micro_batch_size</c> pairs per forward, in
/// data order) and attached to the pairs, so training batches carry them and no reference pass runs per step. The
/// values are cached beside the tokenized data (<see cref="ReferenceLogProbCache"/>), keyed by the tokenized data, the
/// reference weights, dtype, method type, quantization and batch size: a second run on the same inputs reads them.
/// </summary>
public static class ReferencePrecompute
{
    /// <summary>Bump when the computed values change for the same inputs.</summary>
    const int CodeVersion = 1;

    /// <param name="reference">Creates the reference policy; called (and the policy disposed) only when the values are
    /// not cached, so a full run's frozen copy is never held during training.</param>
    public static PreparedPairs Attach(PreparedPairs data, TrainableModel model, TrainConfig cfg, Func<IReferencePolicy> reference,
        CancellationToken ct, string? cacheDirectory = null)
    {
        List<TokenizedPair> all = [.. data.Train, .. data.Validation];
        var cache = new ReferenceLogProbCache(cacheDirectory ?? DataSetup.CacheDirectory);
        string key = Key(data, model, cfg);
        string note;
        if (cache.TryLoad(key, 2 * all.Count, out var values))
            note = $"reference log-probs of {all.Count} pair(s) loaded from the cache ({cache.PathOf(key)})";
        else
        {
            var clock = Stopwatch.StartNew();
            using (var policy = reference())
                values = Compute(all, model, policy, cfg.Train.MicroBatchSize, ct);
            note = $"reference log-probs of {all.Count} pair(s) precomputed in {clock.Elapsed.TotalSeconds:F1} s";
            try { cache.Save(key, values); note += $" and cached ({cache.PathOf(key)})"; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { note += $"; could not write the cache: {e.Message}"; }
        }
        TokenizedPair With(TokenizedPair p, int i) => p with { Reference = new ReferenceLogProbs(values[2 * i], values[2 * i + 1]) };
        return data with
        {
            Train = [.. data.Train.Select(With)],
            Validation = [.. data.Validation.Select((p, i) => With(p, data.Train.Count + i))],
            Notes = [.. data.Notes, note],
        };
    }

    /// <summary>Per pair, log pi_ref(chosen) then log pi_ref(rejected) (sums over the completion tokens).</summary>
    public static double[] Compute(IReadOnlyList<TokenizedPair> pairs, TrainableModel model, IReferencePolicy reference, int pairsPerForward,
        CancellationToken ct)
    {
        int padId = model.Tokenizer.PadTokenId ?? model.Tokenizer.EosTokenId ?? 0;
        var values = new double[2 * pairs.Count];
        int done = 0;
        foreach (var chunk in pairs.Chunk(pairsPerForward))
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var t = BatchTensors.Of(PairDataSetup.Collate(chunk, padId), model.Device);
            var scores = reference.Run(model.Model, m => PairScores.Of(m, t));
            var chosen = scores.ChosenSum.to(ScalarType.Float64).cpu().data<double>().ToArray();
            var rejected = scores.RejectedSum.to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (int i = 0; i < chunk.Length; i++) (values[2 * (done + i)], values[2 * (done + i) + 1]) = (chosen[i], rejected[i]);
            done += chunk.Length;
        }
        return values;
    }

    static string Key(PreparedPairs data, TrainableModel model, TrainConfig cfg)
    {
        string parts = string.Join('\n',
            $"code={CodeVersion}", $"data={data.Fingerprint}", $"weights={RunIdentity.ModelFingerprintOf(model.Directory)}",
            $"adapter={cfg.Model.Adapter}", $"dtype={model.DType}", $"type={ConfigNames.Of(cfg.Method.Type)}",
            $"quant={cfg.Method.Quant}", $"batch={cfg.Train.MicroBatchSize}", $"device={model.Device.type}");
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(parts)));
    }
}
