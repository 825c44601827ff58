using System.Text.Json;

namespace TuneSharp.Inference;

/// <summary>The parts of HF `generation_config.json` that decide default decoding.</summary>
public sealed record GenerationConfig
{
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public bool DoSample { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? MinP { get; init; }
    public double? RepetitionPenalty { get; init; }
    public int? MaxNewTokens { get; init; }

    /// <summary>Reads `generation_config.json` from a model folder; an absent file gives the defaults (greedy).</summary>
    public static GenerationConfig Load(string directory)
    {
        string path = Path.Combine(directory, "generation_config.json");
        if (!File.Exists(path)) return new GenerationConfig();
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {ex.LineNumber + 1}: {ex.Message}", ex);
        }
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object");
        double? Num(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var eos = new List<int>();
        if (root.TryGetProperty("eos_token_id", out var e))
        {
            if (e.ValueKind == JsonValueKind.Number) eos.Add(e.GetInt32());
            else if (e.ValueKind == JsonValueKind.Array) eos.AddRange(e.EnumerateArray().Select(x => x.GetInt32()));
        }
        return new GenerationConfig
        {
            EosTokenIds = eos,
            DoSample = root.TryGetProperty("do_sample", out var ds) && ds.ValueKind == JsonValueKind.True,
            Temperature = Num("temperature"),
            TopP = Num("top_p"),
            TopK = Num("top_k") is { } k ? (int)k : null,
            MinP = Num("min_p"),
            RepetitionPenalty = Num("repetition_penalty"),
            MaxNewTokens = Num("max_new_tokens") is { } m ? (int)m : null,
        };
    }

    /// <summary>Sampling options as HF `generate()` would choose them from this config (greedy unless do_sample).</summary>
    public SamplingOptions ToSamplingOptions() => new()
    {
        Temperature = DoSample ? Temperature ?? 1.0 : 0.0,
        TopP = DoSample ? TopP ?? 1.0 : 1.0,
        TopK = DoSample ? TopK ?? 50 : 0,
        MinP = DoSample ? MinP ?? 0 : 0,
        RepetitionPenalty = RepetitionPenalty ?? 1.0,
        MaxNewTokens = MaxNewTokens ?? 128,
        StopTokenIds = EosTokenIds,
    };
}
