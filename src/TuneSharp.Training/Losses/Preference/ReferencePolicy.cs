using TorchSharp;
using TuneSharp.Models;
using TuneSharp.Peft;
using TuneSharp.Training.Config;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Losses.Preference;

/// <summary>
/// The reference policy a preference loss (DPO, KTO) compares the policy with: the model as it was before training,
/// run without gradients.
/// </summary>
public interface IReferencePolicy : IDisposable
{
    /// <summary>Runs <paramref name="forward"/> (e.g. per-sequence log-probs of a batch) on the reference model, without
    /// gradients.</summary>
    T Run<T>(CausalLM policy, Func<CausalLM, T> forward);

    /// <summary>The reference of a run: for LoRA, DoRA and QLoRA the policy itself with its adapters disabled (no second
    /// copy); for full and freeze runs a frozen copy of the starting weights.</summary>
    static IReferencePolicy For(TrainableModel model) => model.Policy is not null ? new AdaptersOffReference() : FrozenCopyReference.Load(model);

    /// <summary>The reference of a run with <c>precompute_ref_log_probs</c> (<see cref="PrecomputedReference"/>) or
    /// without (<see cref="For(TrainableModel)"/>).</summary>
    static IReferencePolicy For(TrainableModel model, bool precompute) =>
        precompute ? new PrecomputedReference(() => For(model)) : For(model);

    /// <summary>Before training: what the reference contributes to the prepared pairs (nothing, unless its log-probs are
    /// precomputed).</summary>
    PreparedPairs Prepare(PreparedPairs data, TrainableModel model, TrainConfig cfg, CancellationToken ct) => data;
}

/// <summary>
/// Reference log-probs computed once before training (<see cref="ReferencePrecompute"/>) and carried by every batch:
/// the reference model exists only while they are computed (or not at all when they are cached), so a full run holds
/// no frozen copy during training and a LoRA run skips the adapters-off pass of every step.
/// </summary>
public sealed class PrecomputedReference(Func<IReferencePolicy> source) : IReferencePolicy
{
    public PreparedPairs Prepare(PreparedPairs data, TrainableModel model, TrainConfig cfg, CancellationToken ct) =>
        ReferencePrecompute.Attach(data, model, cfg, source, ct);

    public T Run<T>(CausalLM policy, Func<CausalLM, T> forward) =>
        throw new InvalidOperationException("the reference log-probs were precomputed, but a batch arrived without them (its pairs were not prepared)");

    public void Dispose() { }
}

/// <summary>The policy with its adapters disabled: the base model it started from, at no extra memory.</summary>
public sealed class AdaptersOffReference : IReferencePolicy
{
    public T Run<T>(CausalLM policy, Func<CausalLM, T> forward)
    {
        using (no_grad())
        using (policy.AdaptersDisabled())
            return forward(policy);
    }

    public void Dispose() { }
}

/// <summary>
/// A second copy of the starting model (full and freeze runs train every or some base weights, so the policy cannot
/// stand in for its own reference): loaded from the run's model folder in the run's dtype on the run's device, in eval
/// mode, every parameter frozen. It costs one more set of weights (the memory estimate's probe measures it), no
/// gradients and no optimizer state.
/// </summary>
public sealed class FrozenCopyReference : IReferencePolicy
{
    readonly CausalLM _copy;

    FrozenCopyReference(CausalLM copy) => _copy = copy;

    public static FrozenCopyReference Load(TrainableModel policy)
    {
        var copy = ModelLoader.Load(policy.Directory, new ModelLoadOptions { DType = policy.DType });
        if (policy.Device.type != DeviceType.CPU) copy.to(policy.Device);
        foreach (var p in copy.parameters()) p.requires_grad = false;
        copy.eval();
        return new FrozenCopyReference(copy);
    }

    public T Run<T>(CausalLM policy, Func<CausalLM, T> forward)
    {
        using (no_grad())
            return forward(_copy);
    }

    public void Dispose() => _copy.Dispose();
}
