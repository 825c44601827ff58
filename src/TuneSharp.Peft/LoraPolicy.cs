using System.Text.RegularExpressions;
using TorchSharp;
using TuneSharp.Models;
using TuneSharp.Models.Common;
using static TorchSharp.torch;

namespace TuneSharp.Peft;

/// <summary>
/// The adapter policy: layers ask it for each projection by HF path, and it returns a plain <see cref="DenseLinear"/>,
/// <see cref="LoraLinear"/> (optionally DoRA), <see cref="QLoraLinear"/> or a quantized frozen
/// <see cref="QuantizedLinear"/>, matching paths with PEFT's rules (<c>check_target_module_exists</c>, <c>get_pattern_key</c>).
/// </summary>
public sealed class LoraPolicy : ILinearFactory
{
    readonly Regex? _targetRegex, _excludeRegex;
    readonly (Regex Pattern, int Value)[] _rankPatterns;
    readonly (Regex Pattern, double Value)[] _alphaPatterns;
    readonly List<string> _adapted = [];

    public LoraPolicy(LoraSettings settings)
    {
        settings.Validate();
        Settings = settings;
        _targetRegex = settings.TargetRegex is { } t ? FullMatch(t, "target_modules") : null;
        _excludeRegex = settings.ExcludeRegex is { } e ? FullMatch(e, "exclude_modules") : null;
        _rankPatterns = [.. settings.RankPattern.Select(kv => (KeyPattern(kv.Key, "rank_pattern"), kv.Value))];
        _alphaPatterns = [.. settings.AlphaPattern.Select(kv => (KeyPattern(kv.Key, "alpha_pattern"), kv.Value))];
    }

    public LoraSettings Settings { get; }

    /// <summary>Paths that received an adapter, in creation order.</summary>
    public IReadOnlyList<string> AdaptedPaths => _adapted;

    /// <summary>
    /// Whether <paramref name="path"/> gets an adapter: not excluded (suffix list or regex), then target_modules as a
    /// regex (full match) or a suffix list (equal, or ends with "." + name), or "all-linear" (every projection but lm_head).
    /// </summary>
    public bool IsTarget(string path)
    {
        if (Settings.Exclude.Any(e => MatchesName(path, e)) || _excludeRegex?.IsMatch(path) == true) return false;
        if (_targetRegex is not null) return _targetRegex.IsMatch(path);
        if (Settings.Targets.Contains(LoraSettings.AllLinear)) return path != "lm_head" && !path.EndsWith(".lm_head", StringComparison.Ordinal);
        return Settings.Targets.Any(t => MatchesName(path, t));
    }

    /// <summary>The adapter for <paramref name="path"/>, or null; rank/alpha from the first matching pattern key.</summary>
    public AdapterSpec? Plan(string path)
    {
        if (!IsTarget(path)) return null;
        int r = Settings.R;
        foreach (var (p, v) in _rankPatterns) if (p.IsMatch(path)) { r = v; break; }
        double alpha = Settings.Alpha;
        foreach (var (p, v) in _alphaPatterns) if (p.IsMatch(path)) { alpha = v; break; }
        return new AdapterSpec(r, alpha, Settings.Dropout, Settings.UseRslora);
    }

    public nn.Module<Tensor, Tensor> Create(string path, long inFeatures, long outFeatures, bool bias, ScalarType dtype)
    {
        var spec = Plan(path);
        var quant = Settings.Quant;
        if (spec is null)
            return quant is null
                ? new DenseLinear(inFeatures, outFeatures, bias, dtype)
                : new QuantizedLinear(inFeatures, outFeatures, bias, dtype, quant);
        _adapted.Add(path);
        if (quant is not null) return new QLoraLinear(inFeatures, outFeatures, bias, dtype, spec, quant, Settings.UseDora);
        return new LoraLinear(inFeatures, outFeatures, bias, dtype, spec, dora: Settings.UseDora);
    }

    /// <summary>Loader options that build projections through this policy and expect no adapter tensors in the base checkpoint.</summary>
    public ModelLoadOptions LoadOptions(ScalarType dtype = ScalarType.Float32) =>
        new() { DType = dtype, Linears = this, NotInCheckpoint = AdapterModel.IsAdapterParameter };

    /// <summary>
    /// Loads a base model from an HF folder with adapters from this policy, initializes the adapters (seeded, PEFT's init;
    /// DoRA magnitudes from the loaded weights) and leaves only adapter parameters trainable.
    /// </summary>
    public CausalLM LoadModel(string baseDirectory, ScalarType dtype = ScalarType.Float32, long seed = 0)
    {
        var model = ModelLoader.Load(baseDirectory, LoadOptions(dtype));
        try
        {
            Prepare(model, seed);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Initializes every adapter of <paramref name="model"/> (after its base weights are set) and freezes the rest.
    /// Every modules_to_save entry must name a module of the model (see <see cref="CheckModulesToSave"/>).
    /// </summary>
    public void Prepare(CausalLM model, long seed)
    {
        CheckModulesToSave(model);
        using var gen = new Generator().manual_seed(seed);
        foreach (var (_, layer) in model.Adapters()) layer.ResetAdapter(Settings.Init, gen);
        model.MarkOnlyAdaptersTrainable(Settings.ModulesToSave);
    }

    /// <summary>
    /// Refuses modules_to_save entries that match no module, naming them. On a model with tied embeddings there is no
    /// separate lm_head (the embedding matrix is the output head): <c>lm_head</c> is refused with that reason, and
    /// <c>embed_tokens</c> trains the shared matrix (saved with ensure_weight_tying so PEFT 0.18+ keeps the tie).
    /// </summary>
    public void CheckModulesToSave(CausalLM model)
    {
        foreach (string m in Settings.ModulesToSave)
        {
            if (model.named_parameters().Any(p => AdapterModel.IsSavedModuleParameter(p.name, [m]))) continue;
            if (model.Args.TieWordEmbeddings && MatchesName("lm_head", m))
                throw new ArgumentException(
                    $"modules_to_save '{m}': this model ties lm_head to embed_tokens (tie_word_embeddings = true), so it has no separate " +
                    "output head; list embed_tokens instead, which trains the shared matrix (input embedding and output head)");
            throw new ArgumentException($"modules_to_save '{m}' matches no module of the model");
        }
    }

    /// <summary>Path equals <paramref name="name"/> or ends with "." + name (PEFT's suffix rule).</summary>
    public static bool MatchesName(string path, string name) =>
        path == name || path.EndsWith("." + name, StringComparison.Ordinal);

    static Regex FullMatch(string pattern, string key) => Compile($"^(?:{pattern})\\z", pattern, key);

    // get_pattern_key: re.match(rf"(.*\.)?({key})$", path)
    static Regex KeyPattern(string pattern, string key) => Compile($"^(?:.*\\.)?(?:{pattern})\\z", pattern, key);

    static Regex Compile(string full, string pattern, string key)
    {
        try
        {
            return new Regex(full, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{key}: '{pattern}' is not a valid regular expression: {e.Message}", e);
        }
    }
}
