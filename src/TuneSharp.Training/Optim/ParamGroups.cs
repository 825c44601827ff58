using TorchSharp.Modules;

namespace TuneSharp.Training.Optim;

/// <summary>A trainable parameter with its module path (e.g. <c>model.layers.0.mlp.up_proj.weight</c>).</summary>
public sealed record NamedParameter(string Name, Parameter Parameter);

/// <summary>
/// A set of parameters sharing hyperparameters. The learning rate used at a step is
/// <c>Lr * LrMultiplier * scheduleFactor</c>; <see cref="LrMultiplier"/> serves LoRA+ (B matrices at a higher lr).
/// </summary>
public sealed record ParameterGroup(string Name, IReadOnlyList<NamedParameter> Parameters, double Lr, double WeightDecay,
    double LrMultiplier = 1.0)
{
    /// <summary>The learning rate of this group for a given schedule factor.</summary>
    public double LearningRate(double lrFactor) => Lr * LrMultiplier * lrFactor;
}

/// <summary>Builds the usual parameter groups (decay / no decay, lr multipliers) from named parameters.</summary>
public static class ParamGroups
{
    /// <summary>Substrings of parameter names that get no weight decay by default: biases, norm weights, embeddings.</summary>
    public static readonly IReadOnlyList<string> DefaultNoDecay = ["bias", "norm", "embed"];

    /// <summary>
    /// Splits the trainable parameters (<c>requires_grad</c>) into groups: names containing any of
    /// <paramref name="noDecay"/> (ordinal, case-insensitive; default <see cref="DefaultNoDecay"/>) get weight decay 0,
    /// the others <paramref name="weightDecay"/>. <paramref name="lrMultipliers"/> maps a name substring to an lr
    /// multiplier (first match wins; e.g. <c>("lora_B", 16)</c> for LoRA+). Empty groups are left out; order of
    /// parameters within a group follows the input.
    /// </summary>
    public static IReadOnlyList<ParameterGroup> Build(IEnumerable<NamedParameter> parameters, double lr, double weightDecay,
        IReadOnlyList<string>? noDecay = null, IReadOnlyList<(string Substring, double Multiplier)>? lrMultipliers = null)
    {
        noDecay ??= DefaultNoDecay;
        lrMultipliers ??= [];
        // Key (decays, multiplier) -> members, in first-seen order.
        var groups = new List<(bool Decay, double Mult, List<NamedParameter> Members)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var np in parameters)
        {
            if (!np.Parameter.requires_grad) continue;
            if (!seen.Add(np.Name)) throw new ArgumentException($"parameter '{np.Name}' is listed twice");
            bool decay = weightDecay != 0 && !noDecay.Any(s => np.Name.Contains(s, StringComparison.OrdinalIgnoreCase));
            double mult = 1.0;
            foreach (var (sub, m) in lrMultipliers)
                if (np.Name.Contains(sub, StringComparison.Ordinal)) { mult = m; break; }
            int i = groups.FindIndex(g => g.Decay == decay && g.Mult == mult);
            if (i < 0) { groups.Add((decay, mult, [])); i = groups.Count - 1; }
            groups[i].Members.Add(np);
        }
        return groups
            .OrderBy(g => g.Decay ? 0 : 1).ThenBy(g => g.Mult)
            .Select(g => new ParameterGroup(GroupName(g.Decay, g.Mult), g.Members, lr, g.Decay ? weightDecay : 0.0, g.Mult))
            .ToList();
    }

    static string GroupName(bool decay, double mult) =>
        (decay ? "decay" : "no_decay") + (mult == 1.0 ? "" : FormattableString.Invariant($"_lr_x{mult}"));
}
