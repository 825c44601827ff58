using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data;

/// <summary>How <see cref="DatasetMixer.Mix"/> combines datasets.</summary>
public sealed record MixOptions
{
    public ulong Seed { get; init; } = 42;
    /// <summary>Validation split: a fraction in (0, 1) of the deduplicated pool, or an example count when ≥ 1. Ignored with <see cref="ValidationSpecs"/>.</summary>
    public double ValSize { get; init; }
    /// <summary>Separate validation datasets (read as-is, deduplicated against nothing).</summary>
    public IReadOnlyList<DatasetSpec>? ValidationSpecs { get; init; }
    public bool RemoveDuplicates { get; init; } = true;
}

/// <summary>Train and validation examples of a mix.</summary>
public sealed record MixResult(IReadOnlyList<Example> Train, IReadOnlyList<Example> Validation, int DuplicatesRemoved);

/// <summary>
/// Mixes datasets deterministically: read each spec (its MaxSamples first), drop exact duplicates (hash of the normalized
/// example, source location excluded), shuffle by seed, split off validation, then apply weights to the training part
/// (weight 2 repeats every example twice, 0.5 keeps a seeded half) and shuffle again.
/// </summary>
public static class DatasetMixer
{
    public static MixResult Mix(IReadOnlyList<DatasetSpec> specs, MixOptions options, IList<DataProblem>? problems = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pool = new List<(Example Example, int Spec)>();
        int duplicates = 0;
        for (int s = 0; s < specs.Count; s++)
        {
            if (specs[s].Weight < 0 || double.IsNaN(specs[s].Weight)) throw new ArgumentException($"{specs[s].Path}: weight must be >= 0");
            foreach (var ex in DatasetReader.Read(specs[s], problems))
            {
                if (options.RemoveDuplicates && !seen.Add(ContentHash(ex))) duplicates++;
                else pool.Add((ex, s));
            }
        }
        var rng = new SplitMix64(options.Seed);
        Shuffle(pool, rng);
        List<Example> validation;
        if (options.ValidationSpecs is { Count: > 0 } valSpecs)
            validation = [.. valSpecs.SelectMany(v => DatasetReader.Read(v, problems))];
        else
        {
            int valCount = options.ValSize switch
            {
                <= 0 => 0,
                < 1 => (int)Math.Round(options.ValSize * pool.Count),
                _ => (int)Math.Min(options.ValSize, pool.Count),
            };
            validation = [.. pool.Take(valCount).Select(p => p.Example)];
            pool.RemoveRange(0, valCount);
        }
        var train = new List<Example>();
        foreach (var group in pool.GroupBy(p => p.Spec).OrderBy(g => g.Key))
        {
            double w = specs[group.Key].Weight;
            var items = group.Select(p => p.Example).ToList();
            for (int r = 0; r < (int)Math.Floor(w); r++) train.AddRange(items);
            int extra = (int)Math.Round((w - Math.Floor(w)) * items.Count);
            Shuffle(items, rng);
            train.AddRange(items.Take(extra));
        }
        Shuffle(train, rng);
        return new MixResult(train, validation, duplicates);
    }

    /// <summary>SHA-256 of the example's canonical JSON without its source location: equal content ⇒ equal hash.</summary>
    public static string ContentHash(Example example)
    {
        var node = example switch
        {
            ChatExample c => new JsonObject { ["chat"] = Messages(c.Messages), ["tools"] = c.Tools?.DeepClone() },
            CompletionExample c => new JsonObject { ["prompt"] = c.Prompt, ["completion"] = c.Completion },
            TextExample t => new JsonObject { ["text"] = t.Text },
            PreferenceExample p => new JsonObject
            {
                ["prompt"] = Messages(p.Prompt), ["chosen"] = Messages(p.Chosen), ["rejected"] = Messages(p.Rejected), ["tools"] = p.Tools?.DeepClone(),
            },
            KtoExample k => new JsonObject { ["prompt"] = Messages(k.Prompt), ["completion"] = Messages(k.Completion), ["label"] = k.Label },
            _ => throw new NotSupportedException(example.GetType().Name),
        };
        return Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(node.ToJsonString(JsonOptions))));
    }

    static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static JsonArray Messages(IReadOnlyList<ChatMessage> messages) =>
        [.. messages.Select(m => (JsonNode)new JsonObject
        {
            ["role"] = m.Role, ["content"] = m.Content, ["weight"] = m.Weight, ["tool_calls"] = m.ToolCalls?.DeepClone(),
            ["name"] = m.Name, ["tool_call_id"] = m.ToolCallId, ["reasoning"] = m.ReasoningContent,
        })];

    static void Shuffle<T>(List<T> items, SplitMix64 rng)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>SplitMix64: a tiny generator whose sequence is fixed forever (System.Random's is not guaranteed across versions).</summary>
    sealed class SplitMix64(ulong seed)
    {
        ulong _state = seed;

        public int Next(int bound)
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (int)(z % (ulong)bound);
        }
    }
}
