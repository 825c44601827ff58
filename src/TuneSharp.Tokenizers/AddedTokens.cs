using System.Text.Json;

namespace TuneSharp.Tokenizers;

/// <summary>An entry of tokenizer.json "added_tokens".</summary>
sealed record AddedToken(int Id, string Content, bool Special, bool Normalized);

/// <summary>Splits text around added tokens, taking the leftmost, then longest, match (as HF's added vocabulary does).</summary>
sealed class AddedTokenSplitter
{
    sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public AddedToken? Token;
    }

    readonly Node root = new();
    readonly bool empty = true;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0) continue;
            var node = root;
            foreach (char c in token.Content)
            {
                node.Children ??= new Dictionary<char, Node>();
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.Token = token;
            empty = false;
        }
    }

    /// <summary>Calls onText for each non-empty gap and onToken for each matched added token, in order.</summary>
    public void Split(string text, Action<string> onText, Action<AddedToken> onToken)
    {
        if (empty)
        {
            if (text.Length > 0) onText(text);
            return;
        }
        int start = 0, i = 0;
        while (i < text.Length)
        {
            AddedToken? match = null;
            var node = root;
            for (int j = i; j < text.Length && node.Children != null && node.Children.TryGetValue(text[j], out node); j++)
                if (node.Token != null) match = node.Token;
            if (match == null) { i++; continue; }
            if (i > start) onText(text[start..i]);
            onToken(match);
            i += match.Content.Length;
            start = i;
        }
        if (start < text.Length) onText(text[start..]);
    }

    public static List<AddedToken> FromJson(JsonElement array, string file)
    {
        var list = new List<AddedToken>();
        if (array.ValueKind != JsonValueKind.Array) return list;
        int index = 0;
        foreach (var t in array.EnumerateArray())
        {
            string key = $"added_tokens[{index++}]";
            foreach (string flag in new[] { "single_word", "lstrip", "rstrip" })
                if (Json.OptionalBool(t, flag, false))
                    throw new NotSupportedException($"{file}: {key}.{flag} 'true' is not supported");
            list.Add(new AddedToken(Json.Property(t, "id").GetInt32(), Json.RequiredString(t, "content", file, key),
                Json.OptionalBool(t, "special", false), Json.OptionalBool(t, "normalized", false)));
        }
        return list;
    }
}
