using System.Globalization;
using System.Text.Json;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Checkpoints;

/// <summary>Counters a resumed run needs besides weights and optimizer state.</summary>
public sealed record TrainerState(long Step, double? BestEvalLoss, long? BestStep, int EvalsWithoutImprovement,
    long TrainedTokens, double ElapsedSeconds, double? EvalLossBefore);

/// <summary>
/// Checkpoints under `{output}/checkpoints/step-NNNNNNN/`: trainable weights, optimizer state, trainer counters, the torch
/// RNG state and the resolved config. Each is written into a temporary folder that is renamed into place only when
/// complete, so a crash or a full disk never leaves a half-written checkpoint and never touches earlier ones.
/// </summary>
public static class CheckpointStore
{
    const string Weights = "trainable.safetensors", Optimizer = "optimizer.safetensors", OptimizerScalars = "optimizer.json",
        State = "trainer_state.json", Rng = "rng.safetensors", Config = "resolved_config.yaml";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string Root(string outputDir) => Path.Combine(outputDir, "checkpoints");

    public static string Save(string outputDir, TrainableModel model, AdamW optimizer, TrainerState state, string resolvedYaml,
        int? keepLast, long? keepStep)
    {
        string root = Root(outputDir);
        Directory.CreateDirectory(root);
        string final = Path.Combine(root, $"step-{state.Step:D7}");
        string temp = Path.Combine(root, $".tmp-step-{state.Step:D7}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            using (var scope = NewDisposeScope())
            {
                SafeTensorsWriter.Write(Path.Combine(temp, Weights),
                    model.Trainable.Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter.detach())));
                SafeTensorsWriter.Write(Path.Combine(temp, Optimizer), optimizer.StateTensors());
                SafeTensorsWriter.Write(Path.Combine(temp, Rng), [KeyValuePair.Create("torch_cpu", random.get_rng_state())]);
            }
            File.WriteAllText(Path.Combine(temp, OptimizerScalars), JsonSerializer.Serialize(optimizer.ScalarState(), Json));
            File.WriteAllText(Path.Combine(temp, State), JsonSerializer.Serialize(state, Json));
            File.WriteAllText(Path.Combine(temp, Config), resolvedYaml);
            if (Directory.Exists(final)) Directory.Delete(final, true); // a re-save of the same step (e.g. after resume)
            Directory.Move(temp, final);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        Prune(root, keepLast, keepStep);
        return final;
    }

    /// <summary>The newest complete checkpoint, or null. Temporary folders of interrupted saves are ignored.</summary>
    public static string? Latest(string outputDir)
    {
        string root = Root(outputDir);
        if (!Directory.Exists(root)) return null;
        return Complete(root).OrderByDescending(c => c.Step).Select(c => c.Path).FirstOrDefault();
    }

    public static TrainerState Load(string checkpoint, TrainableModel model, AdamW optimizer)
    {
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(checkpoint, State)))
                    ?? throw new InvalidDataException($"{checkpoint}/{State}: empty");
        using (var weights = SafeTensorsFile.Open(Path.Combine(checkpoint, Weights)))
        using (no_grad())
        {
            var trainable = model.Trainable;
            var missing = trainable.Where(p => !weights.Tensors.ContainsKey(p.Name)).Select(p => p.Name).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{checkpoint}/{Weights}: missing {missing.Count} trainable tensor(s), e.g. '{missing[0]}' " +
                                               "(was the checkpoint written by a different method or model?)");
            foreach (var p in trainable)
            {
                using var scope = NewDisposeScope();
                p.Parameter.copy_(weights.Load(p.Name, p.Parameter.dtype));
            }
        }
        using (var opt = SafeTensorsFile.Open(Path.Combine(checkpoint, Optimizer)))
        using (var scope = NewDisposeScope())
        {
            var tensors = opt.Tensors.Keys.ToDictionary(k => k, k => opt.Load(k));
            var scalars = JsonSerializer.Deserialize<AdamWScalarState>(File.ReadAllText(Path.Combine(checkpoint, OptimizerScalars)))
                          ?? throw new InvalidDataException($"{checkpoint}/{OptimizerScalars}: empty");
            optimizer.LoadState(tensors, scalars, Path.Combine(checkpoint, Optimizer));
        }
        using (var rng = SafeTensorsFile.Open(Path.Combine(checkpoint, Rng)))
        using (var state0 = rng.Load("torch_cpu"))
            random.set_rng_state(state0);
        return state;
    }

    static IEnumerable<(long Step, string Path)> Complete(string root) =>
        Directory.EnumerateDirectories(root, "step-*")
            .Select(d => (Ok: long.TryParse(Path.GetFileName(d)["step-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s), Step: s, Path: d))
            .Where(c => c.Ok && File.Exists(Path.Combine(c.Path, State)))
            .Select(c => (c.Step, c.Path));

    /// <summary>Keeps the newest <paramref name="keepLast"/> checkpoints plus the best one.</summary>
    static void Prune(string root, int? keepLast, long? keepStep)
    {
        if (keepLast is not { } k) return;
        foreach (var (step, path) in Complete(root).OrderByDescending(c => c.Step).Skip(k))
            if (step != keepStep) TryDelete(path);
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
