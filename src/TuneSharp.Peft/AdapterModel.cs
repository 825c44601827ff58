using TorchSharp;
using TuneSharp.Peft.Quantization;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>Model-level helpers for adapters: enumeration, trainability, the disabled scope, quantized memory.</summary>
public static class AdapterModel
{
    /// <summary>Parameter names that belong to adapters (PEFT's lora_A / lora_B / lora_magnitude_vector).</summary>
    public static bool IsAdapterParameter(string name) =>
        name.EndsWith(".lora_A.weight", StringComparison.Ordinal) ||
        name.EndsWith(".lora_B.weight", StringComparison.Ordinal) ||
        name.EndsWith(".lora_magnitude_vector", StringComparison.Ordinal);

    /// <summary>Every adapter layer with its module path, in module order.</summary>
    public static IEnumerable<(string Path, IAdapterLayer Layer)> Adapters(this nn.Module model)
    {
        if (model is IAdapterLayer self) yield return ("", self); // named_modules() leaves out the root
        foreach (var (path, module) in model.named_modules())
            if (path.Length > 0 && module is IAdapterLayer layer) yield return (path, layer);
    }

    /// <summary>requires_grad = true exactly for adapter parameters (PEFT's mark_only_lora_as_trainable).</summary>
    public static void MarkOnlyAdaptersTrainable(this nn.Module model, IReadOnlyList<string>? modulesToSave = null)
    {
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad = IsAdapterParameter(name) || IsSavedModuleParameter(name, modulesToSave);
    }

    /// <summary>A parameter of a modules_to_save module (`model.embed_tokens.weight` for "embed_tokens").</summary>
    public static bool IsSavedModuleParameter(string name, IReadOnlyList<string>? modulesToSave)
    {
        if (modulesToSave is not { Count: > 0 } || IsAdapterParameter(name)) return false;
        int dot = name.LastIndexOf('.');
        return dot > 0 && modulesToSave.Any(m => LoraPolicy.MatchesName(name[..dot], m));
    }

    /// <summary>
    /// Turns every adapter off until disposed: the model computes the base alone (DPO's reference model without a
    /// second copy). Nested scopes restore the state they found.
    /// </summary>
    public static IDisposable AdaptersDisabled(this nn.Module model) => new DisabledScope([.. model.Adapters().Select(a => a.Layer)]);

    /// <summary>Bytes of quantized base storage in the model, and what the same weights take in bf16.</summary>
    public static (long QuantizedBytes, long Bf16Bytes) QuantizedMemory(this nn.Module model)
    {
        long q = 0, bf16 = 0;
        foreach (var (_, module) in model.named_modules())
            if (module is QuantizedWeight w)
            {
                q += w.StorageBytes;
                bf16 += w.Bf16Bytes;
            }
        return (q, bf16);
    }

    sealed class DisabledScope : IDisposable
    {
        readonly (IAdapterLayer Layer, bool Was)[] _saved;
        bool _disposed;

        public DisabledScope(IAdapterLayer[] layers)
        {
            _saved = [.. layers.Select(l => (l, l.Enabled))];
            foreach (var l in layers) l.Enabled = false;
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (l, was) in _saved) l.Enabled = was;
        }
    }
}
