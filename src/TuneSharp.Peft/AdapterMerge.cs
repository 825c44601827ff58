using TuneSharp.Models;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>Folds adapters into base weights, producing a plain model (for export or adapter-free inference).</summary>
public static class AdapterMerge
{
    /// <summary>
    /// A new plain <see cref="CausalLM"/> (same args and dtype, dense projections) whose projections carry W + s B A
    /// (LoRA), m * (W + s B A) / ||W + s B A||_row (DoRA) or the dequantized weight (quantized base without adapter);
    /// every other parameter is copied. Adapters are folded whether or not they are currently enabled. The source is unchanged.
    /// </summary>
    public static CausalLM Merge(CausalLM model)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        var source = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        var merged = new CausalLM(model.Args, model.DType);
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, p) in merged.named_parameters())
            {
                using var scope = NewDisposeScope();
                int dot = name.LastIndexOf('.');
                string owner = name[..dot], leaf = name[(dot + 1)..];
                if (modules.TryGetValue(owner, out var module) && module is IDenseEquivalent dense)
                {
                    var value = leaf == "weight" ? dense.DenseWeight(p.dtype)
                        : dense.BaseBias ?? throw new InvalidOperationException($"merge: '{owner}' has no bias but the plain model expects '{name}'");
                    p.copy_(value);
                }
                else if (source.TryGetValue(name, out var t)) p.copy_(t);
                else throw new InvalidOperationException($"merge: no source for parameter '{name}'");
            }
            return merged;
        }
        catch
        {
            merged.Dispose();
            throw;
        }
    }
}
