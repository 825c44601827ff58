using TuneSharp.Data.Batching;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Loop;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The KTO objective over KTO micro-batches (<see cref="Setup.KtoDataSetup.Batches"/>: b completion rows, then their b
/// KL rows, each completion after another example's prompt). Two parts, both with the reference = the same model with
/// its adapters disabled and without gradients:
/// <list type="bullet">
/// <item><see cref="Kl"/>: the KL estimate z0 of a group of micro-batches (an optimizer step's, or one evaluation batch),
/// from policy and reference log-probs of the KL rows, without gradients (z0 is detached in the loss anyway, as in TRL);</item>
/// <item><see cref="Loss"/>: a micro-batch's policy forward (with gradients) and reference forward over its completion
/// rows, and <see cref="KtoLoss"/> summed over its examples (the step driver divides by the examples of the step).</item>
/// </list>
/// One z0 per optimizer step makes gradient accumulation equal one larger batch; TRL estimates it per micro-batch
/// (averaged over processes), the same with <c>train.grad_accum</c> 1. Metrics are TRL's.
/// </summary>
/// <param name="reference">The reference policy (owned); null = the model with its adapters disabled.</param>
public sealed class KtoObjective(KtoSection settings, IReferencePolicy? reference = null) : IDisposable
{
    readonly IReferencePolicy _reference = reference ?? new AdaptersOffReference();

    public void Dispose() => _reference.Dispose();

    /// <summary>Units of a KTO micro-batch: its examples (completion rows).</summary>
    public static long Completions(TrainBatch b) =>
        b.Desirable?.Length ?? throw new ArgumentException("not a KTO batch: it has no desirable/undesirable labels (KtoDataSetup.Batches makes them)", nameof(b));

    /// <summary>z0 = max(0, mean over every KL row of <paramref name="batches"/> of log pi(y'|x) - log pi_ref(y'|x)).</summary>
    public double Kl(CausalLM model, IReadOnlyList<TrainBatch> batches)
    {
        double sum = 0;
        long rows = 0;
        using (no_grad())
            foreach (var b in batches)
            {
                using var scope = NewDisposeScope();
                long n = Completions(b);
                var t = Rows(BatchTensors.Of(b, model.LmHeadWeight.device), n, n);
                var policy = LogProbs(model, t);                                            // [n]
                var reference = _reference.Run(model, m => LogProbs(m, t));                // [n]
                sum += (policy - reference).sum().item<float>();
                rows += n;
            }
        return rows == 0 ? 0 : Math.Max(0, sum / rows);
    }

    /// <param name="kl">z0 of the group this micro-batch belongs to (<see cref="Kl"/>).</param>
    /// <param name="prefix">Metric name prefix: "" for training steps, "eval_" for evaluation.</param>
    public MicroLoss Loss(CausalLM model, TrainBatch b, double kl, string prefix = "")
    {
        long n = Completions(b);
        var device = model.LmHeadWeight.device;
        var t = Rows(BatchTensors.Of(b, device), 0, n);
        var reference = _reference.Run(model, m => LogProbs(m, t));                        // [n]
        var policy = LogProbs(model, t);                                                    // [n]
        var desirable = tensor(b.Desirable!, device: device);                               // [n] bool
        var z0 = tensor(new[] { (float)kl }, device: device);                               // [1]
        var loss = KtoLoss.Compute(policy, reference, desirable, z0, settings.Beta, settings.DesirableWeight, settings.UndesirableWeight);

        // TRL's metrics: means over the desirable (chosen) and the undesirable (rejected) examples the step saw.
        var good = desirable.to(ScalarType.Float32);
        var bad = 1 - good;
        var logp = policy.detach();
        var host = stack([(loss.ChosenRewards * good).sum(), (loss.ChosenRewards * bad).sum(), (logp * good).sum(), (logp * bad).sum()])
            .cpu().data<float>().ToArray();                                                 // one device sync for all metrics
        long goodCount = b.Desirable!.Count(d => d), badCount = n - goodCount;
        var metrics = new MetricSums();
        metrics.Add(prefix + "rewards/chosen", host[0], goodCount);
        metrics.Add(prefix + "rewards/rejected", host[1], badCount);
        metrics.Add(prefix + "logps/chosen", host[2], goodCount);
        metrics.Add(prefix + "logps/rejected", host[3], badCount);
        metrics.Add(prefix + "kl", kl, 1);
        return new MicroLoss(loss.Losses.sum(), metrics);
    }

    /// <summary>Adds TRL's <c>rewards/margins</c> = mean chosen reward - mean rejected reward (of the whole step or
    /// evaluation, so it is not a sum over micro-batches) when both are present.</summary>
    public static IReadOnlyDictionary<string, double> WithMargins(IReadOnlyDictionary<string, double> metrics, string prefix = "")
    {
        if (!metrics.TryGetValue(prefix + "rewards/chosen", out double chosen) || !metrics.TryGetValue(prefix + "rewards/rejected", out double rejected))
            return metrics;
        return new Dictionary<string, double>(metrics, StringComparer.Ordinal) { [prefix + "rewards/margins"] = chosen - rejected };
    }

    static Tensor LogProbs(CausalLM model, BatchTensors t) =>
        SequenceLogProbs.Compute(model.Hidden(t.Ids, t.Positions), model.LmHeadWeight, t.Labels).LogProbSum;

    /// <summary>Rows [start, start + count) of a batch (completion rows first, KL rows after them).</summary>
    static BatchTensors Rows(BatchTensors t, long start, long count) =>
        new(t.Ids.narrow(0, start, count), t.Positions.narrow(0, start, count), null, t.Labels.narrow(0, start, count));
}
