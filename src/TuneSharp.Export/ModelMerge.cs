using TuneSharp.Models;
using TuneSharp.Peft;
using static TorchSharp.torch;

namespace TuneSharp.Export;

/// <summary>
/// A plain fp32 model ready for export. <see cref="QuantRoundTripMaxAbsError"/> (QLoRA adapters only) is the largest
/// |w_q - w| over all weights, where w_q is the merge on the dequantized base and w the same merge on the fp32 base.
/// </summary>
public sealed record MergedModel(CausalLM Model, int AdaptedProjections, double? QuantRoundTripMaxAbsError) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>Loads a base model and folds an optional PEFT adapter into it (fp32), as `export merge` and `export gguf` do.</summary>
public static class ModelMerge
{
    /// <summary>
    /// The base alone, or base + adapter merged. With <paramref name="quant"/> (the adapter was trained on a quantized base,
    /// QLoRA) the base is quantized as in training, dequantized and merged, and the round-trip error is measured against
    /// the same merge on the unquantized base.
    /// </summary>
    public static MergedModel Load(string baseDir, string? adapterDir, QuantSettings? quant = null)
    {
        if (adapterDir == null)
        {
            if (quant != null) throw new ArgumentException("a base quantization is only meaningful with an adapter");
            return new MergedModel(ModelLoader.Load(baseDir), 0, null);
        }
        using var adapted = AdapterIO.Load(adapterDir, baseDir, quant: quant);
        var merged = AdapterMerge.Merge(adapted.Model);
        try
        {
            double? error = null;
            if (quant != null)
            {
                using var reference = AdapterIO.Load(adapterDir, baseDir);
                using var referenceMerged = AdapterMerge.Merge(reference.Model);
                error = MaxAbsDifference(merged, referenceMerged);
            }
            return new MergedModel(merged, adapted.Policy.AdaptedPaths.Count, error);
        }
        catch
        {
            merged.Dispose();
            throw;
        }
    }

    /// <summary>max |a - b| over all parameters of two models with the same parameter names and shapes.</summary>
    public static double MaxAbsDifference(CausalLM a, CausalLM b)
    {
        var other = b.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        double max = 0;
        using var noGrad = no_grad();
        foreach (var (name, p) in a.named_parameters())
        {
            using var scope = NewDisposeScope();
            var q = other.TryGetValue(name, out var t) ? t : throw new InvalidOperationException($"no parameter '{name}' in the reference model");
            max = Math.Max(max, (p.to(ScalarType.Float32) - q.to(ScalarType.Float32)).abs().max().item<float>());
        }
        return max;
    }
}
