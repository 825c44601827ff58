using TuneSharp.Training.Config;
using TuneSharp.Training.Optim;
using static TorchSharp.torch;

namespace TuneSharp.Training.Setup;

/// <summary>The optimizer over a model's trainable parameters and the learning-rate schedule, from <c>optimizer:</c> and <c>schedule:</c>.</summary>
public static class OptimizerSetup
{
    public static AdamW Build(TrainConfig cfg, TrainableModel model)
    {
        var o = cfg.Optimizer;
        // LoRA+: B learns ratio times faster than A.
        var loraPlus = cfg.Method.Lora.LoraPlusRatio is { } ratio && cfg.Method.IsAdapter ? new[] { ("lora_B", ratio) } : null;
        return new AdamW(
            ParamGroups.Build(model.Trainable, o.Lr, o.WeightDecay, [.. o.NoDecay], loraPlus),
            new AdamWOptions
            {
                Beta1 = o.Betas[0], Beta2 = o.Betas[1], Eps = o.Eps,
                MasterWeights = model.DType != ScalarType.Float32, // bf16 weights keep fp32 masters (adapters are fp32 already)
            });
    }

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
