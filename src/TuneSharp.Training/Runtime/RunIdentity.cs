using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace TuneSharp.Training.Runtime;

/// <summary>
/// What makes two processes the same training run: the resolved config (flattened to <c>key.sub</c> -> value), and
/// fingerprints of the model weights and of the tokenized data. A resume compares them with the identity stored in the
/// checkpoint, so a changed template, learning rate or LoRA rank never silently continues an old run.
/// </summary>
public sealed record RunIdentity(IReadOnlyDictionary<string, string> Config, string ModelFingerprint, string DataFingerprint)
{
    /// <summary>Keys a resume may change when asked with <c>--resume</c>: how long to train and how to watch, never what
    /// is trained or how. Paths to the model and the data may move as long as their fingerprints stay equal.</summary>
    static readonly string[] SafePrefixes =
        ["train.max_steps", "train.epochs", "eval.", "logging.", "output.save_every_steps", "output.keep_last", "output.resume", "output.save_merged",
         "data.safety_scan", "data.safety_fail_on", "data.safety_allow_domains"];

    static readonly string[] FingerprintedPaths = ["model.path", "data.val_path"];

    public static bool IsSafeToChange(string key) =>
        SafePrefixes.Any(p => p.EndsWith('.') ? key.StartsWith(p, StringComparison.Ordinal) : key == p);

    static bool IsFingerprintedPath(string key) =>
        FingerprintedPaths.Contains(key) || key.StartsWith("data.datasets.", StringComparison.Ordinal) && key.EndsWith(".path", StringComparison.Ordinal);

    /// <summary>The differences from <paramref name="before"/>: every config key whose value changed (paths of the model
    /// and data only when their fingerprint changed too), plus "model weights" / "data" when a fingerprint differs.</summary>
    public IReadOnlyList<Difference> Compare(RunIdentity before)
    {
        var diffs = new List<Difference>();
        foreach (string key in Config.Keys.Union(before.Config.Keys).Order(StringComparer.Ordinal))
        {
            string? now = Config.GetValueOrDefault(key), then = before.Config.GetValueOrDefault(key);
            if (now == then) continue;
            bool weightsSame = key == "model.path" && ModelFingerprint == before.ModelFingerprint;
            bool dataSame = key != "model.path" && IsFingerprintedPath(key) && DataFingerprint == before.DataFingerprint;
            if (weightsSame || dataSame) continue;
            diffs.Add(new Difference(key, then, now, IsSafeToChange(key)));
        }
        if (ModelFingerprint != before.ModelFingerprint) diffs.Add(new Difference("model weights", "fingerprint " + Short(before.ModelFingerprint), "fingerprint " + Short(ModelFingerprint), false));
        if (DataFingerprint != before.DataFingerprint) diffs.Add(new Difference("data", "fingerprint " + Short(before.DataFingerprint), "fingerprint " + Short(DataFingerprint), false));
        return diffs;
    }

    static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;

    /// <summary>One changed key; <see cref="Safe"/> when a resume with --resume may accept it.</summary>
    public sealed record Difference(string Key, string? Before, string? Now, bool Safe)
    {
        public override string ToString() => $"{Key}: {Before ?? "(not set)"} -> {Now ?? "(not set)"}";
    }

    /// <summary>The resolved config YAML as <c>section.key</c> -> value text; list items are indexed (<c>data.datasets.0.path</c>).</summary>
    public static IReadOnlyDictionary<string, string> FlattenConfig(string resolvedYaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(resolvedYaml));
        var flat = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (stream.Documents.Count > 0) Flatten(stream.Documents[0].RootNode, "", flat);
        return flat;
    }

    static void Flatten(YamlNode node, string prefix, IDictionary<string, string> flat)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children) Flatten(v, Join(prefix, ((YamlScalarNode)k).Value ?? ""), flat);
                if (map.Children.Count == 0) flat[prefix] = "{}";
                break;
            case YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode):
                flat[prefix] = "[" + string.Join(", ", seq.Children.Select(c => ((YamlScalarNode)c).Value)) + "]";
                break;
            case YamlSequenceNode seq:
                for (int i = 0; i < seq.Children.Count; i++) Flatten(seq.Children[i], Join(prefix, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), flat);
                break;
            case YamlScalarNode scalar:
                flat[prefix] = scalar.Value ?? "null";
                break;
        }
    }

    static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;

    /// <summary>
    /// A fingerprint of a model folder's weights that costs milliseconds, not a full read: config.json, and for every
    /// weight file its name, size, safetensors header and 16 evenly spaced 64 KiB samples of its data (any fine-tune
    /// changes nearly every byte, so two checkpoints of the same shape differ in the samples).
    /// </summary>
    public static string ModelFingerprintOf(string modelDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in new[] { "config.json" }.Concat(WeightFiles(modelDir)))
        {
            string path = Path.Combine(modelDir, file);
            if (!File.Exists(path)) continue;
            using var stream = File.OpenRead(path);
            sha.AppendData(Encoding.UTF8.GetBytes($"{file}\n{stream.Length}\n"));
            if (file == "config.json") { sha.AppendData(File.ReadAllBytes(path)); continue; }
            Sample(stream, sha);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static IEnumerable<string> WeightFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*.safetensors").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    static void Sample(FileStream stream, IncrementalHash sha)
    {
        const int block = 64 * 1024, samples = 16;
        var buffer = new byte[block];
        long length = stream.Length;
        // The header (8-byte length + JSON) is hashed whole when it is small; then the samples.
        var head = new byte[Math.Min(length, 1 << 20)];
        stream.ReadExactly(head);
        sha.AppendData(head);
        for (int i = 0; i < samples && length > head.Length; i++)
        {
            long offset = head.Length + (length - head.Length - 1) * i / Math.Max(1, samples - 1);
            stream.Position = Math.Min(offset, Math.Max(head.Length, length - block));
            int read = stream.ReadAtLeast(buffer, 1, throwOnEndOfStream: false);
            sha.AppendData(buffer, 0, read);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(new Stored(Config, ModelFingerprint, DataFingerprint), StoredJson);

    public static RunIdentity FromJson(string json, string source)
    {
        try
        {
            var s = JsonSerializer.Deserialize<Stored>(json, StoredJson) ?? throw new InvalidDataException($"{source}: empty");
            return new RunIdentity(s.Config, s.Model, s.Data);
        }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a run identity ({e.Message})", e); }
    }

    static readonly JsonSerializerOptions StoredJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    sealed record Stored(IReadOnlyDictionary<string, string> Config, string Model, string Data);
}
