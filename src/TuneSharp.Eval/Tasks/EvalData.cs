namespace TuneSharp.Eval.Tasks;

/// <summary>
/// Where the built-in tasks read their data. The root holds one folder per dataset (<c>arc-easy/arc_easy.jsonl</c>,
/// <c>mmlu/dev/*.csv</c>, ...; the layout of TuneSharp's shared fixtures). Searched in order: <c>--data-dir</c>
/// (<see cref="EvalOptions.DataDir"/>), <c>$TUNESHARP_EVAL_DATA</c>, <c>$TUNESHARP_FIXTURES/datasets/eval</c>, then
/// <c>shared/fixtures/datasets/eval</c> beside the current folder or any folder above it. A single task can also be
/// pointed at its own file or folder with <c>--tasks name=PATH</c>.
/// </summary>
public static class EvalData
{
    public static string Root(string? dataDir)
    {
        if (dataDir != null)
            return Directory.Exists(dataDir) ? Path.GetFullPath(dataDir)
                : throw new DirectoryNotFoundException($"--data-dir {dataDir} does not exist");
        if (Environment.GetEnvironmentVariable("TUNESHARP_EVAL_DATA") is { Length: > 0 } env)
            return Directory.Exists(env) ? env : throw new DirectoryNotFoundException($"TUNESHARP_EVAL_DATA={env} does not exist");
        if (Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") is { Length: > 0 } fx && Directory.Exists(Path.Combine(fx, "datasets", "eval")))
            return Path.Combine(fx, "datasets", "eval");
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "fixtures", "datasets", "eval");
            if (Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures", "datasets", "eval");
            if (Directory.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException(
            "no evaluation data found: pass --data-dir DIR (one folder per dataset, see docs/eval.md), set TUNESHARP_EVAL_DATA, " +
            "or point a task at its file with --tasks name=PATH");
    }

    /// <summary>The file or folder of a task: the user's own path when given, else <paramref name="relative"/> under the root.</summary>
    public static string Resolve(string? own, string? dataDir, string relative)
    {
        string path = own ?? Path.Combine(Root(dataDir), relative);
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"evaluation data {path} not found", path);
        return path;
    }
}
