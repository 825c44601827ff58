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
        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { MaxDepth = 256 });
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
        using var vocabDoc = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "vocab.json")));
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
