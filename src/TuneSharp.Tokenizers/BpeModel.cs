using System.Text;
using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>
/// tokenizer.json "model" of type BPE: merges applied lowest rank first (leftmost on ties), optional byte fallback
/// (&lt;0xNN&gt; tokens for characters outside the vocabulary), unknown token with optional fusing, ignore_merges.
/// </summary>
sealed class BpeModel
{
    const int MaxCachedWordLength = 256, MaxCacheEntries = 200_000;

    readonly Dictionary<string, int> vocab;
    readonly Dictionary<int, int> singleCodePoint = new();   // code point -> id, for the initial symbols
    readonly Dictionary<long, (int Rank, int NewId)> merges;
    readonly int? unkId;
    readonly bool fuseUnk, byteFallback, ignoreMerges;
    readonly int[] byteTokenIds = new int[256];
    readonly Dictionary<string, int[]> cache = new(StringComparer.Ordinal);
    readonly Lock cacheLock = new();

    public IReadOnlyDictionary<string, int> Vocab => vocab;
    /// <summary>The merges in rank order, as read.</summary>
    public IReadOnlyList<(string A, string B)> MergeList { get; }
    public bool ByteFallback => byteFallback;

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string A, string B)> mergeList, string? unkToken,
        bool fuseUnk, bool byteFallback, bool ignoreMerges, string file)
    {
        this.vocab = vocab;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        MergeList = mergeList;
        if (unkToken != null)
            unkId = vocab.TryGetValue(unkToken, out int u) ? u : throw new InvalidDataException($"{file}: model.unk_token '{unkToken}' is not in model.vocab");
        foreach (var (token, id) in vocab)
            if (Rune.DecodeFromUtf16(token, out Rune r, out int used) == System.Buffers.OperationStatus.Done && used == token.Length)
                singleCodePoint[r.Value] = id;
        for (int b = 0; b < 256; b++) byteTokenIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;

        merges = new Dictionary<long, (int, int)>(mergeList.Count);
        for (int rank = 0; rank < mergeList.Count; rank++)
        {
            var (a, b) = mergeList[rank];
            if (!vocab.TryGetValue(a, out int ia) || !vocab.TryGetValue(b, out int ib))
                throw new InvalidDataException($"{file}: model.merges[{rank}] '{a} {b}' uses a token missing from model.vocab");
            if (!vocab.TryGetValue(a + b, out int merged))
                throw new InvalidDataException($"{file}: model.merges[{rank}] '{a} {b}' produces '{a + b}', missing from model.vocab");
            merges[Key(ia, ib)] = (rank, merged);  // a repeated pair keeps its last rank, as HF does
        }
    }

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (ignoreMerges && vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }
        if (word.Length < MaxCachedWordLength)
        {
            int[]? cached;
            lock (cacheLock) cache.TryGetValue(word, out cached);
            if (cached == null)
            {
                cached = EncodeWord(word);
                lock (cacheLock)
                {
                    if (cache.Count >= MaxCacheEntries) cache.Clear();
                    cache[word] = cached;
                }
            }
            output.AddRange(cached);
            return;
        }
        output.AddRange(EncodeWord(word));
    }

    int[] EncodeWord(string word)
    {
        // Initial symbols: one per code point (or its <0xNN> bytes, or unk).
        var ids = new List<int>(word.Length);
        bool lastWasUnk = false;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (Rune r in word.EnumerateRunes())
        {
            if (singleCodePoint.TryGetValue(r.Value, out int id))
            {
                ids.Add(id);
                lastWasUnk = false;
                continue;
            }
            if (byteFallback)
            {
                int n = r.EncodeToUtf8(utf8);
                bool all = true;
                for (int i = 0; i < n; i++) all &= byteTokenIds[utf8[i]] >= 0;
                if (all)
                {
                    for (int i = 0; i < n; i++) ids.Add(byteTokenIds[utf8[i]]);
                    lastWasUnk = false;
                    continue;
                }
            }
            if (unkId is int unk && !(fuseUnk && lastWasUnk))
                ids.Add(unk);
            lastWasUnk = unkId.HasValue;
        }
        return Merge(ids);
    }

    int[] Merge(List<int> ids)
    {
        int n = ids.Count;
        if (n < 2) return ids.ToArray();
        // Doubly linked symbols; a heap of candidate merges ordered by (rank, position).
        int[] sym = ids.ToArray(), prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
        var heap = new PriorityQueue<(int Pos, int Right, int NewId), (int Rank, int Pos)>();
        void Push(int left)
        {
            int right = next[left];
            if (right >= 0 && merges.TryGetValue(Key(sym[left], sym[right]), out var m))
                heap.Enqueue((left, sym[right], m.NewId), (m.Rank, left));
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (heap.TryDequeue(out var cand, out _))
        {
            int left = cand.Pos, right = next[left];
            // Stale entry: the left symbol was absorbed or changed, or its right neighbour changed.
            if (sym[left] < 0 || right < 0 || sym[right] != cand.Right
                || !merges.TryGetValue(Key(sym[left], sym[right]), out var m) || m.NewId != cand.NewId) continue;
            sym[left] = m.NewId;
            sym[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) Push(prev[left]);
            Push(left);
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(sym[i]);
        return result.ToArray();
    }

    public static BpeModel FromJson(JsonElement model, string file)
    {
        string type = Json.RequiredString(model, "type", file, "model");
        if (type != "BPE") throw new NotSupportedException($"{file}: model.type '{type}' is not supported (only BPE)");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (Json.OptionalString(model, affix) is { Length: > 0 } value)
                throw new NotSupportedException($"{file}: model.{affix} '{value}' is not supported (only empty or null)");
        if (Json.Property(model, "dropout").ValueKind == JsonValueKind.Number && Json.Property(model, "dropout").GetDouble() > 0)
            throw new NotSupportedException($"{file}: model.dropout '{Json.Property(model, "dropout").GetRawText()}' is not supported");

        var vocabNode = Json.Property(model, "vocab");
        if (vocabNode.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{file}: model.vocab is missing or not an object");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabNode.EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();

        var mergeList = new List<(string, string)>();
        int index = 0;
        foreach (var m in Json.Array(model, "merges", file, "model"))
        {
            // Two formats: "a b" strings, or ["a", "b"] pairs.
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ');
                if (space < 0) throw new InvalidDataException($"{file}: model.merges[{index}] '{s}' is not 'a b'");
                mergeList.Add((s[..space], s[(space + 1)..]));
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                mergeList.Add((m[0].GetString()!, m[1].GetString()!));
            else throw new InvalidDataException($"{file}: model.merges[{index}] is neither 'a b' nor [a, b]");
            index++;
        }
        return new BpeModel(vocab, mergeList, Json.OptionalString(model, "unk_token"), Json.OptionalBool(model, "fuse_unk", false),
            Json.OptionalBool(model, "byte_fallback", false), Json.OptionalBool(model, "ignore_merges", false), file);
    }
}
