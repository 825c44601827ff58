using TuneSharp.Training.Config;
using TuneSharp.Training.Optim;
using static TorchSharp.torch;

namespace TuneSharp.Training.Setup;

/// <summary>The optimizer over a model's trainable parameters and the learning-rate schedule, from <c>optimizer:</c> and <c>schedule:</c>.</summary>
public static class OptimizerSetup
{
    /// <summary>What a factory gets: the groups (weight decay, LoRA+ multipliers), the section, and whether non-fp32
    /// parameters keep fp32 master copies.</summary>
    delegate IOptimizer Factory(IReadOnlyList<ParameterGroup> groups, OptimizerSection o, bool masterWeights);

    static readonly IReadOnlyDictionary<OptimizerName, Factory> Factories = new Dictionary<OptimizerName, Factory>
    {
        [OptimizerName.AdamW] = (g, o, mw) => AdamW.Create(g, AdamOptions(o), mw),
        [OptimizerName.Adam] = (g, o, mw) => Adam.Create(g, AdamOptions(o), mw),
        [OptimizerName.AdamW8bit] = (g, o, mw) => AdamW8bit.Create(g, AdamOptions(o), mw),
        [OptimizerName.Sgd] = (g, o, mw) => Sgd.Create(g, new SgdOptions { Momentum = o.Momentum }, mw),
        [OptimizerName.Adafactor] = (g, o, mw) => Adafactor.Create(g, new AdafactorOptions(), mw),
    };

    public static IOptimizer Build(TrainConfig cfg, TrainableModel model)
    {
        var o = cfg.Optimizer;
        // LoRA+: B learns ratio times faster than A.
        var loraPlus = cfg.Method.Lora.LoraPlusRatio is { } ratio && cfg.Method.IsAdapter ? new[] { ("lora_B", ratio) } : null;
        var groups = ParamGroups.Build(model.Trainable, o.Lr, o.WeightDecay, [.. o.NoDecay], loraPlus);
        // bf16 weights keep fp32 masters (adapters are fp32 already).
        return Create(o, groups, masterWeights: model.DType != ScalarType.Float32);
    }

    /// <summary>The optimizer <c>optimizer.name</c> names, over <paramref name="groups"/>.</summary>
    public static IOptimizer Create(OptimizerSection o, IReadOnlyList<ParameterGroup> groups, bool masterWeights) =>
        Factories[o.Name](groups, o, masterWeights);

    static AdamOptions AdamOptions(OptimizerSection o) => new() { Beta1 = o.Betas[0], Beta2 = o.Betas[1], Eps = o.Eps };

    public static LrSchedule Schedule(ScheduleSection s) => new(
        s.Type switch
        {
            ScheduleType.Constant => LrScheduleKind.Constant,
            ScheduleType.Linear => LrScheduleKind.Linear,
            ScheduleType.Cosine => LrScheduleKind.Cosine,
            ScheduleType.CosineWithMinLr => LrScheduleKind.CosineWithMinLr,
            ScheduleType.Wsd => LrScheduleKind.WarmupStableDecay,
            _ => throw new NotSupportedException($"schedule.type {s.Type}"),
        },
        s.WarmupSteps, s.WarmupRatio, s.MinLrRatio, s.DecayRatio);
}
