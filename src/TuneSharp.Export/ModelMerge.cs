using TuneSharp.Inference;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Export;

/// <summary>
/// A plain fp32 model ready for export with the tokenizer that goes with it (an adapter's own, carrying its trained chat
/// template, when the adapter folder has one). <see cref="QuantRoundTripMaxAbsError"/> (QLoRA adapters only) is the
/// largest |w_q - w| over all weights, where w_q is the merge on the dequantized base and w the same merge on the fp32 base.
/// </summary>
public sealed record MergedModel(CausalLM Model, HfTokenizer Tokenizer, string TokenizerDirectory, LoraSettings? Adapter,
    int AdaptedProjections, double? QuantRoundTripMaxAbsError, IReadOnlyList<string> Notes) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>Loads a base model (<see cref="ModelBundle"/>) and folds an optional PEFT adapter into it (fp32), as `export merge` and `export gguf` do.</summary>
public static class ModelMerge
{
    /// <summary>
    /// The base alone, or base + adapter merged. With <paramref name="quant"/> (the adapter was trained on a quantized base,
    /// QLoRA) the base is quantized as in training, dequantized and merged, and the round-trip error is measured against
    /// the same merge on the unquantized base.
    /// </summary>
    public static MergedModel Load(string baseDir, string? adapterDir, QuantSettings? quant = null)
    {
        var bundle = ModelBundle.Load(baseDir, adapterDir, ScalarType.Float32, quant);
        if (bundle.Policy is not { } policy)
            return new MergedModel(bundle.Model, bundle.Tokenizer, bundle.TokenizerDirectory, null, 0, null, bundle.Notes);
        using var adapted = bundle;
        var merged = AdapterMerge.Merge(adapted.Model);
        try
        {
            double? error = null;
            if (quant != null)
            {
                using var reference = ModelBundle.Load(baseDir, adapterDir);
                using var referenceMerged = AdapterMerge.Merge(reference.Model);
                error = MaxAbsDifference(merged, referenceMerged);
            }
            return new MergedModel(merged, bundle.Tokenizer, bundle.TokenizerDirectory, policy.Settings, policy.AdaptedPaths.Count, error, bundle.Notes);
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
