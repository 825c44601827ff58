using System.Text.RegularExpressions;
using TuneSharp.Tokenizers;

namespace TuneSharp.Export.Gguf;

/// <summary>llama.cpp's token types (`tokenizer.ggml.token_type`, gguf-py's TokenType).</summary>
public enum GgufTokenType
{
    Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
}

/// <summary>
/// The `tokenizer.ggml.*` metadata llama.cpp reads, derived from an HF tokenizer.json the way llama.cpp's HF converter
/// does: `llama` (SentencePiece-style BPE with byte fallback and ▁ spaces: tokens, scores, token types) or `gpt2`
/// (byte-level BPE: tokens, token types, merges, and the pre-tokenizer name `tokenizer.ggml.pre`).
/// </summary>
public static partial class GgufTokenizer
{
    // llama.cpp's names for the pre-tokenizer regexes it implements (llama-vocab.cpp), keyed on the tokenizer.json regexes.
    static readonly (string Pre, string[] Patterns)[] KnownPreTokenizers =
    [
        ("llama-bpe", [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]),
        ("qwen2", [@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]),
        ("gpt-2", [@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"]),
    ];

    [GeneratedRegex("^<0x[0-9A-Fa-f]{2}>$")]
    private static partial Regex ByteToken();

    /// <summary>The `tokenizer.ggml.model` value for a tokenizer: "llama" or "gpt2".</summary>
    public static string ModelName(TokenizerVocabulary v) => (v.ByteLevel, v.ByteFallback) switch
    {
        (true, _) => "gpt2",
        (false, true) => "llama",
        _ => throw new NotSupportedException("GGUF export: tokenizer.json model is neither byte-level BPE (gpt2) nor BPE with byte_fallback (llama)"),
    };

    /// <summary>llama.cpp's `tokenizer.ggml.pre` name for a byte-level tokenizer's split regexes, or null when unknown.</summary>
    public static string? PreTokenizerName(TokenizerVocabulary v) =>
        KnownPreTokenizers.FirstOrDefault(k => k.Patterns.SequenceEqual(v.SplitPatterns)).Pre;

    /// <summary>Token types as llama.cpp's converter assigns them.</summary>
    public static GgufTokenType[] TokenTypes(HfTokenizer tokenizer, int count)
    {
        var v = tokenizer.Vocabulary;
        var added = v.AddedTokens.ToDictionary(t => t.Id);
        var types = new GgufTokenType[count];
        for (int id = 0; id < count; id++)
        {
            string? token = id < v.Tokens.Count ? v.Tokens[id] : null;
            types[id] = token switch
            {
                null => GgufTokenType.Unused,
                _ when id == tokenizer.UnkTokenId => GgufTokenType.Unknown,
                _ when added.TryGetValue(id, out var a) => a.Special ? GgufTokenType.Control : GgufTokenType.UserDefined,
                _ when !v.ByteLevel && ByteToken().IsMatch(token) => GgufTokenType.Byte,
                _ => GgufTokenType.Normal,
            };
        }
        return types;
    }

    /// <summary>
    /// SentencePiece-style scores for llama.cpp's SPM tokenizer, which merges the adjacent pair whose joined token has the
    /// highest score: a token made by merge rank r scores -r (so merges apply in rank order, as the HF BPE model does);
    /// tokens no merge produces score 0.
    /// </summary>
    public static float[] Scores(TokenizerVocabulary v, int count)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < v.Tokens.Count; id++)
            if (v.Tokens[id] is { } t) ids.TryAdd(t, id);
        var scores = new float[count];
        var scored = new bool[count];
        for (int rank = 0; rank < v.Merges.Count; rank++)
        {
            var (a, b) = v.Merges[rank];
            if (ids.TryGetValue(a + b, out int id) && !scored[id])
            {
                scores[id] = -rank;
                scored[id] = true;
            }
        }
        return scores;
    }

    /// <summary>Adds the tokenizer keys to <paramref name="w"/>; the token list is padded to the model's vocab size.</summary>
    public static void Add(GgufWriter w, HfTokenizer tokenizer, int modelVocabSize, List<string> warnings)
    {
        var v = tokenizer.Vocabulary;
        string model = ModelName(v);
        int count = Math.Max(modelVocabSize, v.Tokens.Count);
        if (v.Tokens.Count > modelVocabSize)
            throw new NotSupportedException($"GGUF export: the tokenizer has {v.Tokens.Count} tokens but config.json vocab_size is {modelVocabSize}");
        // Unused ids (holes, or embedding rows beyond the tokenizer) get llama.cpp's placeholder names.
        var tokens = Enumerable.Range(0, count).Select(id => (id < v.Tokens.Count ? v.Tokens[id] : null) ?? $"[PAD{id}]").ToArray();
        w.Add("tokenizer.ggml.model", model);
        if (model == "gpt2")
        {
            string? pre = PreTokenizerName(v);
            if (pre == null)
                warnings.Add($"tokenizer.json pre-tokenizer regex is not one llama.cpp names; wrote tokenizer.ggml.pre = 'default' (llama.cpp splits differently): {string.Join(" | ", v.SplitPatterns)}");
            w.Add("tokenizer.ggml.pre", pre ?? "default");
        }
        w.Add("tokenizer.ggml.tokens", tokens);
        if (model == "llama") w.Add("tokenizer.ggml.scores", Scores(v, count));
        w.Add("tokenizer.ggml.token_type", TokenTypes(tokenizer, count).Select(t => (int)t).ToArray());
        if (model == "gpt2") w.Add("tokenizer.ggml.merges", v.Merges.Select(m => $"{m.A} {m.B}").ToArray());
        if (tokenizer.BosTokenId is int bos) w.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (tokenizer.EosTokenId is int eos) w.Add("tokenizer.ggml.eos_token_id", (uint)eos);
        if (tokenizer.UnkTokenId is int unk) w.Add("tokenizer.ggml.unknown_token_id", (uint)unk);
        if (tokenizer.PadTokenId is int pad) w.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        w.Add("tokenizer.ggml.add_bos_token", tokenizer.AddBosToken);
        w.Add("tokenizer.ggml.add_eos_token", tokenizer.AddEosToken);
        if (tokenizer.ChatTemplate is { } template) w.Add("tokenizer.chat_template", template);
    }
}
