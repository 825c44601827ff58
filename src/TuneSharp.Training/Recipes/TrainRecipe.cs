using System.Diagnostics;
using System.Text.Json.Nodes;
using TuneSharp.Core.Hub;
using TuneSharp.Core.IO;
using TuneSharp.Core.Native;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Templates;
using TuneSharp.Inference;
using TuneSharp.Peft;
using TuneSharp.Training.Checkpoints;
using TuneSharp.Training.Config;
using TuneSharp.Training.Estimates;
using TuneSharp.Training.Losses;
using TuneSharp.Training.Observers;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Outputs;
using TuneSharp.Training.Runtime;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Recipes;

/// <summary>How a run is started (from the CLI or a test).</summary>
public sealed record TrainRunOptions
{
    /// <summary>The resolved config as YAML, written next to the outputs and into every checkpoint.</summary>
    public required string ResolvedYaml { get; init; }
    /// <summary>`--resume`: like `output.resume: force`.</summary>
    public bool ForceResume { get; init; }
    public IReadOnlyList<ITrainingObserver> Observers { get; init; } = [];
    public StopSignal? Stop { get; init; }
    public IProgress<DownloadProgress>? DownloadProgress { get; init; }
    public TextWriter Log { get; init; } = TextWriter.Null;
}

/// <summary>
/// Next-token training for every method (full, freeze, LoRA, DoRA, QLoRA) and both stages (SFT, continued pretraining):
/// setup, then one optimizer step per iteration, reading top to bottom. The loss of a step is the sum over its trained
/// tokens divided by the number of trained tokens in the whole step, so gradient accumulation equals one big batch.
/// </summary>
public static class TrainRecipe
{
    public static async Task<RunSummary> RunAsync(TrainConfig cfg, TrainRunOptions run, CancellationToken ct = default)
    {
        TorchRuntime.Initialize();
        long? runtimeBytes = ProcessMemory.CurrentRssBytes(); // the process before any model: the estimate's baseline
        var clock = Stopwatch.StartNew();
        string outputDir = Path.GetFullPath(cfg.Output.Dir);
        Directory.CreateDirectory(outputDir);
        using var runLock = OutputLock.Acquire(outputDir);
        string? resumeFrom = ResumePoint(cfg, outputDir, run.ForceResume);
        AtomicFile.WriteAllText(Path.Combine(outputDir, "resolved_config.yaml"), run.ResolvedYaml);

        // ---- model, data, optimizer
        manual_seed(cfg.Train.Seed);
        string modelDir = await ModelLocator.ResolveAsync(cfg.Model.Path, progress: run.DownloadProgress, ct: ct);
        var dtype = ModelSetup.ResolveDType(cfg.Model.DType);
        using var model = ModelSetup.Build(cfg, modelDir, dtype);
        model.Model.GradientCheckpointing = cfg.Train.GradCheckpointing;
        var data = DataSetup.Prepare(cfg, model.Tokenizer, modelDir);
        int padId = model.Tokenizer.PadTokenId ?? model.Tokenizer.EosTokenId ?? 0; // labels, not ids, decide the loss
        if (data.Train.Count < cfg.Train.MicroBatchSize && !cfg.Data.Packing)
            throw new ArgumentException($"train.micro_batch_size ({cfg.Train.MicroBatchSize}) is larger than the training set " +
                                        $"({data.Train.Count} samples after tokenization)");
        var plan = new BatchPlan(data.Train, cfg.Train.MicroBatchSize, cfg.Train.GradAccum, cfg.Data.Packing, cfg.Data.MaxSeqLen,
            padId, cfg.Train.Seed, cfg.Data.Shuffle);
        var evalBatches = BatchPlan.Evaluation(data.Validation, cfg.Train.MicroBatchSize, padId);
        long totalSteps = cfg.Train.MaxSteps ?? (long)Math.Ceiling(cfg.Train.Epochs!.Value * plan.StepsPerEpoch);

        var trainable = model.Trainable;
        var loraPlus = cfg.Method.Lora.LoraPlusRatio is { } ratio && cfg.Method.IsAdapter ? new[] { ("lora_B", ratio) } : null;
        using var optimizer = new AdamW(
            ParamGroups.Build(trainable, cfg.Optimizer.Lr, cfg.Optimizer.WeightDecay, [.. cfg.Optimizer.NoDecay], loraPlus),
            new AdamWOptions
            {
                Beta1 = cfg.Optimizer.Betas[0], Beta2 = cfg.Optimizer.Betas[1], Eps = cfg.Optimizer.Eps,
                MasterWeights = dtype != ScalarType.Float32, // bf16 weights keep fp32 masters (adapters are fp32 already)
            });
        var schedule = Schedule(cfg.Schedule);

        var state = new TrainerState(0, null, null, 0, 0, 0, null);
        if (resumeFrom != null)
        {
            state = CheckpointStore.Load(resumeFrom, model, optimizer);
            run.Log.WriteLine($"resuming from {resumeFrom} (step {state.Step})");
        }

        using var observers = new CompositeObserver(run.Observers);
        var estimate = MemoryEstimator.Estimate(new MemoryEstimateInput
        {
            Model = model.Model.Args,
            DTypeBytes = dtype == ScalarType.Float32 ? 4 : 2,
            TrainableParameters = trainable.Sum(p => p.Parameter.numel()),
            AdapterTraining = cfg.Method.IsAdapter,
            TrainableDTypeBytes = cfg.Method.IsAdapter ? 4 : null, // adapters are fp32 even on a bf16 base
            MicroBatch = cfg.Train.MicroBatchSize,
            SeqLen = cfg.Data.MaxSeqLen,
            GradientCheckpointing = cfg.Train.GradCheckpointing,
            QuantizedBase = cfg.Method.Type == MethodType.Qlora,
            QuantBlockSize = cfg.Method.Quant.BlockSize,
            QuantDoubleQuant = cfg.Method.Quant.DoubleQuant,
            RuntimeBytes = runtimeBytes,
        });
        var timeEstimate = EstimateTime(cfg, model, plan, totalSteps - state.Step, trainable.Sum(p => p.Parameter.numel()));
        observers.OnStart(new RunInfo
        {
            OutputDir = outputDir,
            ModelName = cfg.Model.Path,
            Method = ConfigNames.Of(cfg.Method.Type),
            TotalParameters = model.TotalParameters,
            TrainableParameters = trainable.Sum(p => p.Parameter.numel()),
            TotalSteps = totalSteps,
            Epochs = (int)Math.Ceiling((double)totalSteps / plan.StepsPerEpoch),
            StartStep = state.Step,
            TrainExamples = data.Train.Count,
            ValidationExamples = data.Validation.Count,
            TrainedTokensPerEpoch = data.Train.Sum(s => (long)s.TrainedCount),
            TokensPerEpoch = data.Train.Sum(s => (long)s.Length),
            EstimatedPeakMemoryBytes = estimate.Total,
            EstimatedSeconds = timeEstimate.Seconds,
            Notes = [$"template: {data.TemplateName}", $"dtype: {dtype}", .. estimate.Describe(), .. data.Notes],
        });

        // ---- before: held-out loss and samples (a fresh run only)
        var samplesBefore = new List<string>();
        if (state.Step == 0 && resumeFrom == null)
        {
            if (evalBatches.Count > 0) state = state with { EvalLossBefore = Evaluate(model, evalBatches, cfg.Eval.MaxBatches).Loss };
            samplesBefore.AddRange(cfg.Eval.Samples.Select(p => Sample(model, data.Template, p)));
        }

        // ---- the loop: one optimizer step per iteration
        model.Model.train();
        string status = "completed";
        double? lastLoss = null;
        double elapsedBefore = state.ElapsedSeconds;
        while (state.Step < totalSteps)
        {
            ct.ThrowIfCancellationRequested();
            var stepClock = Stopwatch.StartNew();
            var batches = plan.StepBatches(state.Step);
            long stepTrained = batches.Sum(b => (long)b.TrainedTokens);
            long stepTokens = batches.Sum(b => (long)b.RealTokens);
            double lossSum = 0;
            foreach (var batch in batches)
                lossSum += MicroStep(model, batch, stepTrained);
            double gradNorm = GradClip.ClipGlobalNorm(trainable.Select(p => p.Parameter), cfg.Train.MaxGradNorm ?? double.PositiveInfinity);
            double lrFactor = schedule.Factor(state.Step, totalSteps);
            if (stepTrained > 0) optimizer.Step(lrFactor);
            optimizer.ZeroGrad();

            long step = state.Step + 1;
            lastLoss = stepTrained > 0 ? lossSum / stepTrained : double.NaN;
            double seconds = stepClock.Elapsed.TotalSeconds;
            state = state with { Step = step, TrainedTokens = state.TrainedTokens + stepTrained, ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds };
            observers.OnStep(new StepMetrics(step, plan.EpochOf(step), lastLoss.Value, cfg.Optimizer.Lr * lrFactor, gradNorm,
                stepTrained, stepTokens, seconds, stepTokens / Math.Max(seconds, 1e-9)));

            bool last = step == totalSteps;
            if (evalBatches.Count > 0 && (cfg.Eval.EverySteps is { } every && step % every == 0 || last && cfg.Eval.AtEnd))
            {
                var (loss, accuracy, tokens) = Evaluate(model, evalBatches, cfg.Eval.MaxBatches);
                bool best = state.BestEvalLoss is not { } b || loss < b;
                state = best
                    ? state with { BestEvalLoss = loss, BestStep = step, EvalsWithoutImprovement = 0 }
                    : state with { EvalsWithoutImprovement = state.EvalsWithoutImprovement + 1 };
                observers.OnEval(new EvalMetrics(step, loss, Math.Exp(loss), accuracy, tokens, best));
                if (cfg.Eval.EarlyStoppingPatience is { } patience && state.EvalsWithoutImprovement >= patience)
                    status = "early_stopped";
            }
            bool stopRequested = run.Stop?.Requested == true;
            if (stopRequested) status = "interrupted";
            if (last || status != "completed" || cfg.Output.SaveEverySteps is { } n && step % n == 0)
            {
                string path = CheckpointStore.Save(outputDir, model, optimizer, state, run.ResolvedYaml, cfg.Output.KeepLast, state.BestStep);
                observers.OnCheckpoint(step, path);
            }
            if (status != "completed") break;
        }

        // ---- after: outputs, held-out loss and samples
        model.Model.eval();
        string? finalDir = status == "interrupted" ? null : FinalOutputs.Save(outputDir, model, cfg.Model.Path);
        double? evalAfter = evalBatches.Count > 0 && status != "interrupted" ? Evaluate(model, evalBatches, cfg.Eval.MaxBatches).Loss : null;
        var samples = status == "interrupted" ? [] : cfg.Eval.Samples
            .Select((p, i) => (p, i < samplesBefore.Count ? samplesBefore[i] : "", Sample(model, data.Template, p))).ToList();
        var summary = new RunSummary
        {
            Status = status,
            Steps = state.Step,
            FinalLoss = lastLoss,
            BestEvalLoss = state.BestEvalLoss,
            BestStep = state.BestStep,
            TrainedTokens = state.TrainedTokens,
            WallSeconds = clock.Elapsed.TotalSeconds,
            PeakMemoryBytes = ProcessMemory.PeakRssBytes() ?? 0,
            EstimatedPeakMemoryBytes = estimate.Total,
            EstimatedSeconds = timeEstimate.Seconds,
            EvalLossBefore = state.EvalLossBefore,
            EvalLossAfter = evalAfter,
            Samples = samples,
        };
        observers.OnEnd(summary);
        if (finalDir != null) run.Log.WriteLine($"saved {finalDir}");
        return summary;
    }

    /// <summary>Forward + backward of one micro-batch; returns its summed loss (for logging).</summary>
    static double MicroStep(TrainableModel model, TrainBatch b, long stepTrainedTokens)
    {
        if (b.TrainedTokens == 0) return 0;
        using var scope = NewDisposeScope();
        var (ids, positions, segments, labels) = Tensors(b);
        var hidden = model.Model.Hidden(ids, positions, segmentIds: segments);
        var (sum, _) = CausalLmLoss.Compute(hidden, model.Model.LmHeadWeight, labels);
        // Divide by the trained tokens of the whole optimizer step, not of this micro-batch.
        (sum / stepTrainedTokens).backward();
        return sum.item<float>();
    }

    /// <summary>Mean loss and token accuracy over the validation batches (no dropout, no grads).</summary>
    static (double Loss, double Accuracy, long Tokens) Evaluate(TrainableModel model, IReadOnlyList<TrainBatch> batches, int? maxBatches)
    {
        bool wasTraining = model.Model.training;
        model.Model.eval();
        double loss = 0;
        long tokens = 0, correct = 0;
        using (no_grad())
            foreach (var b in batches.Take(maxBatches ?? int.MaxValue))
            {
                using var scope = NewDisposeScope();
                var (ids, positions, segments, labels) = Tensors(b);
                var hidden = model.Model.Hidden(ids, positions, segmentIds: segments);
                var score = CausalLmLoss.Score(hidden, model.Model.LmHeadWeight, labels);
                loss += score.SumLoss;
                tokens += score.TokenCount;
                correct += score.Correct;
            }
        if (wasTraining) model.Model.train();
        return tokens == 0 ? (double.NaN, double.NaN, 0) : (loss / tokens, (double)correct / tokens, tokens);
    }

    static (Tensor Ids, Tensor Positions, Tensor? Segments, Tensor Labels) Tensors(TrainBatch b) => (
        tensor(b.InputIds, [b.Rows, b.Length]),
        tensor(b.PositionIds, [b.Rows, b.Length]),
        b.SegmentIds is null ? null : tensor(b.SegmentIds, [b.Rows, b.Length]),
        tensor(b.Labels, [b.Rows, b.Length]));

    /// <summary>Greedy answer to a prompt, rendered with the template the run trains with.</summary>
    static string Sample(TrainableModel model, ChatTemplate template, string prompt)
    {
        bool wasTraining = model.Model.training;
        model.Model.eval();
        var tok = model.Tokenizer;
        var messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt });
        int[] ids = tok.Encode(template.Render(messages, addGenerationPrompt: true, bosToken: tok.BosToken, eosToken: tok.EosToken),
            addSpecialTokens: false);
        var stops = StopTokens.Of(GenerationConfig.Load(model.Directory), model.Model.Args, tok);
        string text = string.Concat(new TextGenerator(model.Model, tok).Stream(ids,
            new SamplingOptions { Temperature = 0, MaxNewTokens = 48, StopTokenIds = stops }));
        if (wasTraining) model.Model.train();
        return text;
    }

    /// <summary>
    /// Training time of the remaining steps: model FLOPs for the padded tokens the plan will process, over the matmul
    /// throughput measured now (~0.2 s) at the model's shapes, at an assumed 50% step efficiency (norms, softmax,
    /// optimizer and data handling are not matmuls). The summary compares it with the wall time.
    /// </summary>
    static TimeEstimate EstimateTime(TrainConfig cfg, TrainableModel model, BatchPlan plan, long steps, long trainableParameters)
    {
        var a = model.Model.Args;
        double cellsPerEpoch = plan.EpochBatches(0).Sum(b => (double)b.Rows * b.Length);
        double tokens = cellsPerEpoch * steps / plan.StepsPerEpoch;
        double flops = TimeEstimator.MeasureMatmulFlops(model.DType, Math.Min(cfg.Data.MaxSeqLen, 512), a.HiddenSize, a.IntermediateSize);
        return TimeEstimator.Estimate(a, trainableParameters, cfg.Method.IsAdapter, cfg.Data.MaxSeqLen, cfg.Train.GradCheckpointing,
            tokens, flops, efficiency: 0.5);
    }

    static LrSchedule Schedule(ScheduleSection s) => new(
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

    /// <summary>Where to resume from, per output.resume and --resume; refuses to mix runs.</summary>
    static string? ResumePoint(TrainConfig cfg, string outputDir, bool forceResume)
    {
        string? latest = CheckpointStore.Latest(outputDir);
        var mode = forceResume ? ResumeMode.Force : cfg.Output.Resume;
        return mode switch
        {
            ResumeMode.Force => latest ?? throw new InvalidOperationException($"--resume: no checkpoint in {CheckpointStore.Root(outputDir)}"),
            ResumeMode.Never when latest != null => throw new InvalidOperationException(
                $"{outputDir} already holds checkpoints of another run (output.resume is never): choose another output.dir or delete them"),
            ResumeMode.Never => null,
            _ => latest,
        };
    }
}
