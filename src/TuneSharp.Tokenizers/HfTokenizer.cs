using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>
/// A Hugging Face tokenizer loaded from tokenizer.json (+ tokenizer_config.json, special_tokens_map.json), encoding and
/// decoding exactly as Python transformers' fast tokenizers do for the supported pipeline components
/// (see docs/tokenizers.md). A GPT-2 style directory with only vocab.json + merges.txt is loaded as transformers converts it.
/// </summary>
public sealed class HfTokenizer
{
    readonly INormalizer? normalizer;
    readonly IPreTokenizer? preTokenizer;
    readonly BpeModel model;
    readonly IDecoder? decoder;
    readonly SpecialTokenTemplate template;
    readonly AddedTokenSplitter rawSplitter, normalizedSplitter;
    readonly Dictionary<int, AddedToken> addedById;
    readonly Dictionary<string, AddedToken> addedByContent;
    readonly string?[] idToToken;
    readonly HashSet<int> specialIds;

    /// <summary>Vocabulary size including added tokens (max id + 1).</summary>
    public int VocabSize => idToToken.Length;
    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }
    public int? UnkTokenId { get; }
    public string? BosToken { get; }
    public string? EosToken { get; }
    public string? PadToken { get; }
    /// <summary>Whether Encode(text, addSpecialTokens: true) starts with the BOS token.</summary>
    public bool AddBosToken { get; }
    /// <summary>Whether Encode(text, addSpecialTokens: true) ends with the EOS token.</summary>
    public bool AddEosToken { get; }
    /// <summary>tokenizer_config.json "chat_template" (a string, or the "default" entry of a list).</summary>
    public string? ChatTemplate { get; }
    public IReadOnlyDictionary<string, string> NamedChatTemplates { get; }
    /// <summary>Ids of the added tokens flagged special (those Decode skips with skipSpecialTokens).</summary>
    public IReadOnlySet<int> SpecialTokenIds => specialIds;
    /// <summary>transformers' clean_up_tokenization_spaces (" ." -> "." and similar, applied after decoding).</summary>
    internal bool CleanUpTokenizationSpaces { get; }
    internal IDecoder? Decoder => decoder;

    /// <summary>Read-only description of the vocabulary, for exporters (GGUF).</summary>
    public TokenizerVocabulary Vocabulary => new(idToToken, model.MergeList,
        [.. addedById.Values.OrderBy(t => t.Id).Select(t => new TokenizerAddedToken(t.Id, t.Content, t.Special))],
        model.ByteFallback, PreTokenizerSteps(preTokenizer).OfType<ByteLevelPreTokenizer>().Any(),
        [.. PreTokenizerSteps(preTokenizer).SelectMany(p => p switch
        {
            SplitPreTokenizer s => new[] { s.Pattern },
            ByteLevelPreTokenizer { UseRegex: true } => [ByteLevelPreTokenizer.RegexPattern],
            _ => [],
        })]);

    static IEnumerable<IPreTokenizer> PreTokenizerSteps(IPreTokenizer? p) => p switch
    {
        null => [],
        SequencePreTokenizer seq => seq.Steps.SelectMany(PreTokenizerSteps),
        _ => [p],
    };

    HfTokenizer(INormalizer? normalizer, IPreTokenizer? preTokenizer, BpeModel model, IDecoder? decoder,
        SpecialTokenTemplate template, List<AddedToken> added, TokenizerConfig config, bool defaultCleanUp)
    {
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.decoder = decoder;
        addedById = added.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.Last());
        addedByContent = added.GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.Last());
        rawSplitter = new AddedTokenSplitter(added.Where(t => !t.Normalized));
        normalizedSplitter = new AddedTokenSplitter(added.Where(t => t.Normalized));
        specialIds = added.Where(t => t.Special).Select(t => t.Id).ToHashSet();

        int size = Math.Max(model.Vocab.Count == 0 ? 0 : model.Vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        idToToken = new string?[size];
        foreach (var (token, id) in model.Vocab) idToToken[id] = token;
        foreach (var t in added) idToToken[t.Id] = t.Content;

        BosToken = config.BosToken;
        EosToken = config.EosToken;
        PadToken = config.PadToken;
        BosTokenId = config.BosToken is { } b ? TokenToId(b) : null;
        EosTokenId = config.EosToken is { } e ? TokenToId(e) : null;
        PadTokenId = config.PadToken is { } p ? TokenToId(p) : null;
        UnkTokenId = config.UnkToken is { } u ? TokenToId(u) : null;
        ChatTemplate = config.ChatTemplate;
        NamedChatTemplates = config.NamedChatTemplates;
        CleanUpTokenizationSpaces = config.CleanUpTokenizationSpaces ?? defaultCleanUp;

        // transformers' Llama/Gemma tokenizer classes rebuild the template from add_bos_token / add_eos_token.
        if (config.TokenizerClass is { } cls && LlamaLikeClasses.Contains(cls.Replace("Fast", "")))
        {
            bool addBos = config.AddBosToken ?? true, addEos = config.AddEosToken ?? false;
            template = new SpecialTokenTemplate(
                addBos && BosTokenId is int bos ? [bos] : [],
                addEos && EosTokenId is int eos ? [eos] : []);
        }
        this.template = template;
        AddBosToken = BosTokenId is int bosId && template.Prefix.Contains(bosId);
        AddEosToken = EosTokenId is int eosId && template.Suffix.Contains(eosId);
    }

    static readonly HashSet<string> LlamaLikeClasses = ["LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer"];

    /// <summary>Loads tokenizer.json (+ tokenizer_config.json, special_tokens_map.json) from a model directory.</summary>
    public static HfTokenizer Load(string directory)
    {
        string path = Path.Combine(directory, "tokenizer.json");
        var config = Directory.Exists(directory) ? TokenizerConfig.Load(directory) : null;
        if (!File.Exists(path))
        {
            if (config != null && File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt")))
                return LoadGpt2Files(directory, config);
            throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        }
        using var doc = Json.ParseFile(path, new JsonDocumentOptions { MaxDepth = 256 });
        var root = doc.RootElement;
        const string file = "tokenizer.json";
        var added = AddedTokenSplitter.FromJson(Json.Property(root, "added_tokens"), file);
        return new HfTokenizer(
            NormalizerFactory.Create(Json.Property(root, "normalizer"), file, "normalizer"),
            PreTokenizerFactory.Create(Json.Property(root, "pre_tokenizer"), file, "pre_tokenizer"),
            BpeModel.FromJson(Json.Property(root, "model"), file),
            DecoderFactory.Create(Json.Property(root, "decoder"), file, "decoder"),
            SpecialTokenTemplate.FromJson(Json.Property(root, "post_processor"), file, "post_processor"),
            added, config!, defaultCleanUp: false);
    }

    /// <summary>
    /// A slow GPT-2 tokenizer directory (vocab.json + merges.txt), set up as transformers' GPT2 converter does: byte-level
    /// BPE with the GPT-2 regex, no prefix space, "&lt;|endoftext|&gt;" as bos/eos/unk special token, nothing added on encode.
    /// </summary>
    static HfTokenizer LoadGpt2Files(string directory, TokenizerConfig config)
    {
        using var vocabDoc = Json.ParseFile(Path.Combine(directory, "vocab.json"));
        if (vocabDoc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException("vocab.json: not a JSON object");
        var vocab = vocabDoc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        var merges = new List<(string, string)>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(Path.Combine(directory, "merges.txt")))
        {
            lineNo++;
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            int space = line.IndexOf(' ');
            if (space <= 0) throw new InvalidDataException($"merges.txt: line {lineNo} '{line}' is not 'a b'");
            merges.Add((line[..space], line[(space + 1)..]));
        }
        const string eot = "<|endoftext|>";
        var added = vocab.TryGetValue(eot, out int eotId) ? new List<AddedToken> { new(eotId, eot, true, false) } : [];
        config = config with { BosToken = config.BosToken ?? eot, EosToken = config.EosToken ?? eot, UnkToken = config.UnkToken ?? eot };
        return new HfTokenizer(null, new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true),
            new BpeModel(vocab, merges, null, false, false, false, "merges.txt"), new ByteLevelDecoder(),
            SpecialTokenTemplate.None, added, config, defaultCleanUp: false);
    }

    /// <summary>Encodes text; added/special tokens written in the text are matched as HF does.</summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(template.Prefix);
        var pieces = new List<string>();
        rawSplitter.Split(text, segment =>
        {
            string normalized = normalizer?.Normalize(segment) ?? segment;
            normalizedSplitter.Split(normalized, part =>
            {
                pieces.Clear();
                pieces.Add(part);
                preTokenizer?.PreTokenize(pieces);
                foreach (string piece in pieces) model.Encode(piece, ids);
            }, token => ids.Add(token.Id));
        }, token => ids.Add(token.Id));
        if (addSpecialTokens) ids.AddRange(template.Suffix);
        return ids.ToArray();
    }

    /// <summary>
    /// Encodes like <see cref="Encode"/> (same ids) and reports, per token, the UTF-16 range [Start, End) of
    /// <paramref name="text"/> it came from. Tokens added by the post-processor get an empty range at the text's start
    /// or end. A token holding part of a character's UTF-8 bytes spans the whole character. Where a normalizer rewrites
    /// text in a way that cannot be aligned exactly (rare NFC/NFD compositions), the tokens of that stretch span the
    /// smallest aligned stretch around them.
    /// </summary>
    public TokenOffsets EncodeWithOffsets(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var starts = new List<int>(ids.Capacity);
        var ends = new List<int>(ids.Capacity);
        void Add(int id, int start, int end) { ids.Add(id); starts.Add(start); ends.Add(end); }
        if (addSpecialTokens) foreach (int id in template.Prefix) Add(id, 0, 0);
        var pieces = new List<string>();
        int pos = 0;
        rawSplitter.Split(text, segment =>
        {
            int segStart = pos;
            pos += segment.Length;
            var (normalized, align) = OffsetAlignment.Normalize(normalizer, segment);
            int npos = 0;
            normalizedSplitter.Split(normalized, part =>
            {
                int partStart = npos, first = ids.Count;
                npos += part.Length;
                pieces.Clear();
                pieces.Add(part);
                preTokenizer?.PreTokenize(pieces);
                foreach (string piece in pieces) model.Encode(piece, ids);
                var spans = OffsetAlignment.TokenCharSpans(this, ids, first, part);
                foreach (var (s, e) in spans)
                {
                    // normalized part chars -> original segment chars -> text chars
                    starts.Add(segStart + align[partStart + s].Start);
                    ends.Add(segStart + align[partStart + e - 1].End);
                }
            }, token =>
            {
                ids.Add(token.Id);
                starts.Add(segStart + align[npos].Start);
                ends.Add(segStart + align[npos + token.Content.Length - 1].End);
                npos += token.Content.Length;
            });
        }, token =>
        {
            Add(token.Id, pos, pos + token.Content.Length);
            pos += token.Content.Length;
        });
        if (addSpecialTokens) foreach (int id in template.Suffix) Add(id, text.Length, text.Length);
        return new TokenOffsets(ids.ToArray(), starts.ToArray(), ends.ToArray());
    }

    bool IsByteLevel => preTokenizer is ByteLevelPreTokenizer
        || (preTokenizer is SequencePreTokenizer seq && seq.Steps.Any(s => s is ByteLevelPreTokenizer));

    /// <summary>Character alignment helpers for <see cref="EncodeWithOffsets"/>.</summary>
    static class OffsetAlignment
    {
        /// <summary>Normalizes a segment and maps each normalized char to the range of segment chars it came from.</summary>
        public static (string Text, (int Start, int End)[] Align) Normalize(INormalizer? normalizer, string text)
        {
            var align = new (int, int)[text.Length];
            for (int i = 0; i < text.Length; i++) align[i] = (i, i + 1);
            return Apply(normalizer, text, align);
        }

        static (string, (int Start, int End)[]) Apply(INormalizer? normalizer, string text, (int Start, int End)[] align)
        {
            switch (normalizer)
            {
                case null:
                    return (text, align);
                case SequenceNormalizer seq:
                    foreach (var step in seq.Steps) (text, align) = Apply(step, text, align);
                    return (text, align);
                case PrependNormalizer p when text.Length > 0:
                    // The prepended chars belong to the first char (as HF aligns them).
                    return (p.Prefix + text, [.. Enumerable.Repeat(align[0], p.Prefix.Length), .. align]);
                case ReplaceNormalizer r when r.Pattern.Length > 0:
                {
                    var sb = new System.Text.StringBuilder(text.Length);
                    var result = new List<(int, int)>(text.Length);
                    for (int i = 0; i < text.Length;)
                    {
                        if (string.CompareOrdinal(text, i, r.Pattern, 0, r.Pattern.Length) == 0)
                        {
                            var span = (align[i].Start, align[i + r.Pattern.Length - 1].End);
                            sb.Append(r.Content);
                            for (int k = 0; k < r.Content.Length; k++) result.Add(span);
                            i += r.Pattern.Length;
                        }
                        else
                        {
                            sb.Append(text[i]);
                            result.Add(align[i]);
                            i++;
                        }
                    }
                    return (sb.ToString(), result.ToArray());
                }
                default:
                    string output = normalizer.Normalize(text);
                    return output == text ? (text, align) : (output, Chunked(normalizer, text, output, align));
            }
        }

        /// <summary>
        /// Alignment for a normalizer that changed the text (NFC/NFD): normalizes runs that start at a char that cannot
        /// combine with what precedes it; when the runs' outputs concatenate to the whole output each output char
        /// belongs to its run, otherwise every char spans the whole text.
        /// </summary>
        static (int Start, int End)[] Chunked(INormalizer normalizer, string text, string output, (int Start, int End)[] align)
        {
            var result = new List<(int, int)>(output.Length);
            var sb = new System.Text.StringBuilder(output.Length);
            int runStart = 0;
            for (int i = 1; i <= text.Length; i++)
            {
                if (i < text.Length && !StartsRun(text, i)) continue;
                string run = normalizer.Normalize(text[runStart..i]);
                sb.Append(run);
                for (int k = 0; k < run.Length; k++) result.Add((align[runStart].Start, align[i - 1].End));
                runStart = i;
            }
            if (sb.ToString() == output) return result.ToArray();
            var whole = (align[0].Start, align[^1].End);
            return Enumerable.Repeat(whole, output.Length).ToArray();
        }

        static bool StartsRun(string text, int i)
        {
            char c = text[i];
            if (char.IsLowSurrogate(c)) return false;
            if (c is >= '\u1160' and <= '\u11FF') return false;  // Hangul medial vowels / final consonants compose
            var cat = char.GetUnicodeCategory(text, i);
            return cat is not (System.Globalization.UnicodeCategory.NonSpacingMark
                or System.Globalization.UnicodeCategory.SpacingCombiningMark
                or System.Globalization.UnicodeCategory.EnclosingMark);
        }

        /// <summary>
        /// For the tokens ids[first..] of one normalized part, the [start, end) char ranges within the part, found by
        /// matching each token's bytes against the part's UTF-8. Bytes a pre-tokenizer added (a prefix space) are
        /// attributed to the part's first char; anything unmatched (unknown tokens) spans the whole part.
        /// </summary>
        public static List<(int Start, int End)> TokenCharSpans(HfTokenizer tok, List<int> ids, int first, string part)
        {
            byte[] expected = System.Text.Encoding.UTF8.GetBytes(part);
            var charOfByte = new int[expected.Length];
            for (int c = 0, b = 0; c < part.Length; c++)
            {
                bool pair = char.IsSurrogatePair(part, c);
                int n = pair ? 4 : System.Text.Encoding.UTF8.GetByteCount(part.AsSpan(c, 1));
                for (int k = 0; k < n; k++) charOfByte[b + k] = c;
                b += n;
                if (pair) c++;
            }
            var tokenBytes = new List<byte>();
            var bounds = new List<int>(ids.Count - first + 1) { 0 };
            bool byteLevel = tok.IsByteLevel;
            for (int t = first; t < ids.Count; t++)
            {
                string token = tok.IdToToken(ids[t]) ?? "";
                if (byteLevel) ByteLevel.AppendBytes(token, tokenBytes);
                else if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                    && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte raw))
                    tokenBytes.Add(raw);
                else tokenBytes.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                bounds.Add(tokenBytes.Count);
            }
            int extra = tokenBytes.Count - expected.Length;
            bool matches = extra >= 0 && tokenBytes.Skip(extra).SequenceEqual(expected);
            var spans = new List<(int, int)>(bounds.Count - 1);
            for (int t = 0; t + 1 < bounds.Count; t++)
            {
                if (!matches || part.Length == 0) { spans.Add((0, part.Length)); continue; }
                int b0 = Math.Max(bounds[t] - extra, 0), b1 = Math.Max(bounds[t + 1] - extra, 0);
                if (b1 <= b0) spans.Add((charOfByte[Math.Min(b0, expected.Length - 1)], charOfByte[Math.Min(b0, expected.Length - 1)] + 1));
                else
                {
                    int last = charOfByte[b1 - 1];
                    spans.Add((charOfByte[b0], last + (char.IsSurrogatePair(part, last) ? 2 : 1)));
                }
            }
            return spans;
        }
    }

    /// <summary>Decodes ids to text; unknown ids are ignored, as HF does.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        string text = DecodeRaw(TokensOf(ids, skipSpecialTokens), continuation: false);
        return CleanUpTokenizationSpaces ? CleanUp(text) : text;
    }

    internal List<string> TokensOf(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>();
        foreach (int id in ids)
            if (IdToToken(id) is { } token && !(skipSpecialTokens && specialIds.Contains(id)))
                tokens.Add(token);
        return tokens;
    }

    /// <summary>Runs the decoder chain without the final clean-up step.</summary>
    internal string DecodeRaw(List<string> tokens, bool continuation) =>
        decoder == null ? string.Join(' ', tokens) : string.Concat(decoder.Decode(tokens, continuation));

    /// <summary>transformers' clean_up_tokenization: removes the space before punctuation and English contractions.</summary>
    internal static string CleanUp(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    public string? IdToToken(int id) => id >= 0 && id < idToToken.Length ? idToToken[id] : null;

    public int? TokenToId(string token) =>
        addedByContent.TryGetValue(token, out var added) ? added.Id
        : model.Vocab.TryGetValue(token, out int id) ? id : null;

    /// <summary>A decoder for token-by-token output whose pieces concatenate to Decode of all the ids.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);
}

/// <summary>Token ids with, per token, the UTF-16 range [Starts[i], Ends[i]) of the encoded text it covers.</summary>
/// <summary>
/// A tokenizer's vocabulary as exporters need it: tokens by id (null for an unused id), BPE merges in rank order, the
/// added tokens, whether the BPE model has byte fallback (SentencePiece style), whether a byte-level pre-tokenizer is
/// used (GPT-2 style), and the regexes of the pre-tokenizer's split steps in order.
/// </summary>
public sealed record TokenizerVocabulary(
    IReadOnlyList<string?> Tokens, IReadOnlyList<(string A, string B)> Merges, IReadOnlyList<TokenizerAddedToken> AddedTokens,
    bool ByteFallback, bool ByteLevel, IReadOnlyList<string> SplitPatterns);

/// <summary>An added token of tokenizer.json ("special" as flagged there).</summary>
public sealed record TokenizerAddedToken(int Id, string Content, bool Special);

public sealed record TokenOffsets(int[] Ids, int[] Starts, int[] Ends);
