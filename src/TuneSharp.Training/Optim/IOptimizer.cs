using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace TuneSharp.Training.Optim;

/// <summary>
/// An optimizer over parameter groups: one update per <see cref="Step"/>, its state as named tensors plus JSON-able
/// counters for checkpoints. Implemented by <see cref="SlotOptimizer{TState}"/> with one update rule per algorithm
/// (<see cref="AdamW"/>, <see cref="Adam"/>, <see cref="Sgd"/>, <see cref="Adafactor"/>, <see cref="AdamW8bit"/>).
/// </summary>
public interface IOptimizer : IDisposable
{
    /// <summary>The algorithm's config name (<c>adamw</c>, <c>sgd</c>, ...), stored with the state so that a checkpoint of
    /// one algorithm is never loaded into another.</summary>
    string Name { get; }

    IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>Calls to <see cref="Step"/> so far.</summary>
    long StepCount { get; }

    /// <summary>One update of every parameter that has a gradient; <paramref name="lrFactor"/> scales each group's lr
    /// (pass <see cref="LrSchedule.Factor"/>). Gradients are read, never modified.</summary>
    void Step(double lrFactor = 1.0);

    /// <summary>Sets every parameter's gradient to none (frees the memory, as torch's <c>set_to_none=True</c>).</summary>
    void ZeroGrad();

    /// <summary>The state tensors by name (<c>{parameter}.{suffix}</c>), owned by the optimizer: read or copy them before the
    /// next Step/LoadState/Dispose. Parameters that never had a gradient have no entries.</summary>
    IReadOnlyDictionary<string, Tensor> StateTensors();

    /// <summary>The counters (JSON-able).</summary>
    OptimizerScalarState ScalarState();

    /// <summary>Restores a state saved by <see cref="StateTensors"/> + <see cref="ScalarState"/> (tensors are copied; the
    /// caller keeps ownership). <paramref name="source"/> names the file in errors, which also name the tensor.</summary>
    void LoadState(IReadOnlyDictionary<string, Tensor> tensors, OptimizerScalarState scalars, string source = "optimizer state");
}

/// <summary>The JSON-able part of an optimizer's state (the tensors come from <see cref="IOptimizer.StateTensors"/>).</summary>
/// <param name="FormatVersion">Layout version of the state, currently 1.</param>
/// <param name="StepCount">Calls to <see cref="IOptimizer.Step"/> so far.</param>
/// <param name="Steps">Per parameter name: updates applied to it (parameters without a grad are skipped, as in torch).</param>
/// <param name="Optimizer">The algorithm that wrote the state (<see cref="IOptimizer.Name"/>); absent in states written
/// before there was a choice, which were all <c>adamw</c>.</param>
public sealed record OptimizerScalarState(int FormatVersion, long StepCount, IReadOnlyDictionary<string, long> Steps,
    string? Optimizer = null)
{
    /// <summary>The algorithm that wrote the state, <c>adamw</c> for states older than the field.</summary>
    [JsonIgnore]
    public string WrittenBy => Optimizer ?? AdamW.Name;
}
