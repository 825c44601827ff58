using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using TuneSharp.Core.SafeTensors;
using TuneSharp.Training.Optim;
using TuneSharp.Training.Runtime;
using TuneSharp.Training.Setup;
using static TorchSharp.torch;

namespace TuneSharp.Training.Checkpoints;

/// <summary>Counters a resumed run needs besides weights and optimizer state.</summary>
public sealed record TrainerState(long Step, double? BestEvalLoss, long? BestStep, int EvalsWithoutImprovement,
    long TrainedTokens, double ElapsedSeconds, double? EvalLossBefore)
{
    /// <summary>A fresh run before its first step.</summary>
    public static TrainerState Start { get; } = new(0, null, null, 0, 0, 0, null);
}

/// <summary>A verified checkpoint to resume from, with the identity of the run that wrote it.</summary>
public sealed record ResumePoint(string Path, long Step, RunIdentity Identity);

/// <summary>
/// Checkpoints under `{output}/checkpoints/step-NNNNNNN/`: trainable weights, optimizer state, trainer counters, the torch
/// RNG state, the resolved config, the run identity, and `checksums.json` (SHA-256 of every other file). Each is written
/// into a temporary folder that is renamed into place only when complete, so a crash or a full disk never leaves a
/// half-written checkpoint and never touches earlier ones. A resume verifies the checksums and falls back to the newest
/// checkpoint that verifies, naming the ones it skipped.
/// </summary>
public static class CheckpointStore
{
    const string Weights = "trainable.safetensors", Optimizer = "optimizer.safetensors", OptimizerScalars = "optimizer.json",
        State = "trainer_state.json", Rng = "rng.safetensors", Config = "resolved_config.yaml", Identity = "identity.json",
        Checksums = "checksums.json", TempPrefix = ".tmp-step-";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string Root(string outputDir) => System.IO.Path.Combine(outputDir, "checkpoints");

    public static string Save(string outputDir, TrainableModel model, IOptimizer optimizer, TrainerState state, string resolvedYaml,
        RunIdentity identity, int? keepLast, long? keepStep)
    {
        string root = Root(outputDir);
        Directory.CreateDirectory(root);
        string final = System.IO.Path.Combine(root, $"step-{state.Step:D7}");
        string temp = System.IO.Path.Combine(root, $"{TempPrefix}{state.Step:D7}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            using (var scope = NewDisposeScope())
            {
                SafeTensorsWriter.Write(System.IO.Path.Combine(temp, Weights),
                    model.Trainable.Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter.detach().cpu())));
                SafeTensorsWriter.Write(System.IO.Path.Combine(temp, Optimizer),
                    optimizer.StateTensors().Select(kv => KeyValuePair.Create(kv.Key, kv.Value.cpu())));
                SafeTensorsWriter.Write(System.IO.Path.Combine(temp, Rng), [KeyValuePair.Create("torch_cpu", random.get_rng_state())]);
            }
            File.WriteAllText(System.IO.Path.Combine(temp, OptimizerScalars), JsonSerializer.Serialize(optimizer.ScalarState(), Json));
            File.WriteAllText(System.IO.Path.Combine(temp, State), JsonSerializer.Serialize(state, Json));
            File.WriteAllText(System.IO.Path.Combine(temp, Config), resolvedYaml);
            File.WriteAllText(System.IO.Path.Combine(temp, Identity), identity.ToJson());
            WriteChecksums(temp);
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

    /// <summary>The newest complete checkpoint's folder, or null (not verified; see <see cref="LatestVerified"/>).</summary>
    public static string? Latest(string outputDir) =>
        Directory.Exists(Root(outputDir)) ? Complete(Root(outputDir)).OrderByDescending(c => c.Step).Select(c => c.Path).FirstOrDefault() : null;

    /// <summary>The newest complete checkpoint's step, or null.</summary>
    public static long? LatestStep(string outputDir) =>
        Directory.Exists(Root(outputDir)) ? Complete(Root(outputDir)).Select(c => (long?)c.Step).Max() : null;

    /// <summary>
    /// The newest checkpoint whose files all match their checksums and whose identity reads; newer ones that fail are
    /// reported on <paramref name="log"/> (what failed and why) and skipped. Null when the folder has no checkpoint;
    /// an error when checkpoints exist but none verifies.
    /// </summary>
    public static ResumePoint? LatestVerified(string outputDir, TextWriter log)
    {
        string root = Root(outputDir);
        if (!Directory.Exists(root)) return null;
        var candidates = Complete(root).OrderByDescending(c => c.Step).ToList();
        var failures = new List<string>();
        foreach (var (step, path) in candidates)
        {
            try
            {
                Verify(path);
                var identity = RunIdentity.FromJson(File.ReadAllText(System.IO.Path.Combine(path, Identity)), System.IO.Path.Combine(path, Identity));
                foreach (var f in failures) log.WriteLine($"warning: skipping checkpoint {f}");
                if (failures.Count > 0) log.WriteLine($"warning: resuming from the older checkpoint {path}");
                return new ResumePoint(path, step, identity);
            }
            catch (InvalidDataException e) { failures.Add($"{path}: {e.Message}"); }
            catch (IOException e) { failures.Add($"{path}: {e.Message}"); }
        }
        if (failures.Count == 0) return null;
        throw new InvalidDataException($"no checkpoint in {root} verifies:\n  " + string.Join("\n  ", failures) +
                                       "\nDelete the damaged checkpoints (or the folder) to start over.");
    }

    /// <summary>Checks every file of a checkpoint against checksums.json (size and SHA-256).</summary>
    public static void Verify(string checkpoint)
    {
        string listPath = System.IO.Path.Combine(checkpoint, Checksums);
        if (!File.Exists(listPath)) throw new InvalidDataException($"{listPath} is missing (checkpoint written by an older version or damaged)");
        Dictionary<string, string> expected;
        try { expected = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(listPath)) ?? []; }
        catch (JsonException e) { throw new InvalidDataException($"{listPath}: not a checksum list ({e.Message})", e); }
        foreach (var (file, hash) in expected)
        {
            string path = System.IO.Path.Combine(checkpoint, file);
            if (!File.Exists(path)) throw new InvalidDataException($"{path} is missing");
            if (Sha256(path) != hash) throw new InvalidDataException($"{path} does not match its checksum (truncated or corrupted)");
        }
        foreach (var required in new[] { Weights, Optimizer, OptimizerScalars, State, Rng, Identity })
            if (!expected.ContainsKey(required)) throw new InvalidDataException($"{listPath} does not list {required}");
    }

    /// <summary>Loads weights, optimizer state and counters; call <see cref="RestoreRng"/> right before the first step.</summary>
    public static TrainerState Load(string checkpoint, TrainableModel model, IOptimizer optimizer)
    {
        var state = ReadJson<TrainerState>(System.IO.Path.Combine(checkpoint, State));
        string weightsPath = System.IO.Path.Combine(checkpoint, Weights);
        using (var weights = SafeTensorsFile.Open(weightsPath))
        using (no_grad())
        {
            var trainable = model.Trainable;
            var missing = trainable.Where(p => !weights.Tensors.ContainsKey(p.Name)).Select(p => p.Name).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{weightsPath}: missing {missing.Count} trainable tensor(s), e.g. '{missing[0]}' " +
                                               "(was the checkpoint written by a different method or model?)");
            foreach (var p in trainable)
            {
                var info = weights.Tensors[p.Name];
                if (!info.Shape.SequenceEqual(p.Parameter.shape))
                    throw new InvalidDataException($"{weightsPath}: tensor '{p.Name}' has shape [{string.Join(", ", info.Shape)}] " +
                                                   $"but the model's is [{string.Join(", ", p.Parameter.shape)}]");
                using var scope = NewDisposeScope();
                p.Parameter.copy_(weights.Load(p.Name, p.Parameter.dtype));
            }
        }
        string optimizerPath = System.IO.Path.Combine(checkpoint, Optimizer);
        using (var opt = SafeTensorsFile.Open(optimizerPath))
        using (var scope = NewDisposeScope())
        {
            var device = model.Model.LmHeadWeight.device;
            var tensors = opt.Tensors.Keys.ToDictionary(k => k, k => opt.Load(k).to(device));
            var scalars = ReadJson<OptimizerScalarState>(System.IO.Path.Combine(checkpoint, OptimizerScalars));
            optimizer.LoadState(tensors, scalars, optimizerPath);
        }
        return state;
    }

    /// <summary>Restores the torch RNG saved with the checkpoint. Called right before the loop, after everything that
    /// could consume random numbers at start-up, so dropout masks continue exactly as in the uninterrupted run.</summary>
    public static void RestoreRng(string checkpoint)
    {
        using var rng = SafeTensorsFile.Open(System.IO.Path.Combine(checkpoint, Rng));
        using var state = rng.Load("torch_cpu");
        random.set_rng_state(state);
    }

    /// <summary>Temporary folders of saves that never finished. Only call while holding the output lock: then their
    /// writer is gone (killed, or out of disk).</summary>
    public static void RemoveStaleTemporaries(string outputDir)
    {
        string root = Root(outputDir);
        if (!Directory.Exists(root)) return;
        foreach (var dir in Directory.EnumerateDirectories(root, TempPrefix + "*")) TryDelete(dir);
    }

    static T ReadJson<T>(string path)
    {
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
    }

    static void WriteChecksums(string dir)
    {
        var sums = Directory.EnumerateFiles(dir).Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)
            .ToDictionary(f => f, f => Sha256(System.IO.Path.Combine(dir, f)));
        File.WriteAllText(System.IO.Path.Combine(dir, Checksums), JsonSerializer.Serialize(sums, Json));
    }

    static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static IEnumerable<(long Step, string Path)> Complete(string root) =>
        Directory.EnumerateDirectories(root, "step-*")
            .Select(d => (Ok: long.TryParse(System.IO.Path.GetFileName(d)["step-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s), Step: s, Path: d))
            .Where(c => c.Ok && File.Exists(System.IO.Path.Combine(c.Path, State)))
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
