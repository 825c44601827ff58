using System.Globalization;

namespace TuneSharp.Bench.Train;

/// <summary>Command-line settings of the harness.</summary>
public sealed record HarnessOptions
{
    public required IReadOnlyList<BenchRow> Rows { get; init; }
    public string Matrix { get; init; } = "default";
    /// <summary>Measured optimizer steps per run (after the warm-up).</summary>
    public int Steps { get; init; } = 6;
    public int Warmup { get; init; } = 2;
    /// <summary>Runs per side; sides alternate (TuneSharp, PyTorch, TuneSharp, ...).</summary>
    public int Repeats { get; init; } = 2;
    public string? JsonPath { get; init; }
    public bool WriteDoc { get; init; }
    public required string RepoRoot { get; init; }
    public required string Work { get; init; }
    public required string Fixtures { get; init; }
    public string Python { get; init; } = "/usr/bin/python3";

    public static HarnessOptions Parse(string[] args)
    {
        var known = new HashSet<string> { "--matrix", "--rows", "--steps", "--warmup", "--repeats", "--json", "--work", "--fixtures", "--python" };
        var values = new Dictionary<string, string>();
        bool writeDoc = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--write-doc") { writeDoc = true; continue; }
            if (!known.Contains(args[i])) throw new ArgumentException($"unknown option '{args[i]}' (options: {string.Join(" ", known.Order())} --write-doc)");
            if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
            values[args[i]] = args[++i];
        }
        string matrix = values.GetValueOrDefault("--matrix", "default");
        var rows = values.TryGetValue("--rows", out var ids) ? BenchRow.Select(ids)
            : matrix switch
            {
                "default" => BenchRow.Default(),
                "full" => BenchRow.Full(),
                _ => throw new ArgumentException($"--matrix: '{matrix}' is not one of default, full"),
            };
        string root = FindRepoRoot();
        string fixtures = values.GetValueOrDefault("--fixtures",
            Environment.GetEnvironmentVariable("TUNESHARP_FIXTURES") ?? Path.Combine(root, "..", "shared", "fixtures"));
        return new HarnessOptions
        {
            Rows = rows,
            Matrix = values.ContainsKey("--rows") ? "rows" : matrix,
            Steps = Int(values, "--steps", 6, 1),
            Warmup = Int(values, "--warmup", 2, 0),
            Repeats = Int(values, "--repeats", 2, 1),
            JsonPath = values.GetValueOrDefault("--json"),
            WriteDoc = writeDoc,
            RepoRoot = root,
            Work = Path.GetFullPath(values.GetValueOrDefault("--work", Path.Combine(Path.GetTempPath(), "tunesharp-bench-train"))),
            Fixtures = Path.GetFullPath(fixtures),
            Python = values.GetValueOrDefault("--python", "/usr/bin/python3"),
        };
    }

    static int Int(Dictionary<string, string> values, string key, int fallback, int min)
    {
        if (!values.TryGetValue(key, out var s)) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new ArgumentException($"{key} must be an integer >= {min}, found '{s}'");
        return v;
    }

    /// <summary>The folder holding TuneSharp.slnx, from the current directory upwards.</summary>
    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "TuneSharp.slnx"))) return d.FullName;
        throw new ArgumentException("run the harness from inside the TuneSharp repository (TuneSharp.slnx not found)");
    }
}
