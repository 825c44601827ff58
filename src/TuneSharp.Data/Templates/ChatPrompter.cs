using System.Text.Json.Nodes;
using TuneSharp.Tokenizers;

namespace TuneSharp.Data.Templates;

/// <summary>
/// A model's chat format for generation (shared by `chat` and `serve`): its template (the tokenizer's own
/// <c>chat_template</c> or a built-in one), how a conversation becomes prompt ids, and the token that ends a reply.
/// </summary>
public sealed class ChatPrompter
{
    ChatPrompter(ChatTemplate template, HfTokenizer tokenizer)
    {
        Template = template;
        Tokenizer = tokenizer;
        EndOfTurnTokenId = FindEndOfTurnTokenId(template, tokenizer);
    }

    public ChatTemplate Template { get; }
    public HfTokenizer Tokenizer { get; }
    /// <summary>The special token the template writes after an assistant message, or null (see <see cref="FindEndOfTurnTokenId"/>).</summary>
    public int? EndOfTurnTokenId { get; }

    /// <summary>
    /// The built-in template <paramref name="builtInName"/> when given, else the tokenizer's chat_template; fails naming
    /// <paramref name="modelDirectory"/> when neither exists.
    /// </summary>
    public static ChatPrompter For(HfTokenizer tokenizer, string modelDirectory, string? builtInName)
    {
        var template = builtInName is { } name ? ChatTemplate.BuiltIn(name)
            : tokenizer.ChatTemplate is { } source ? ChatTemplate.FromSource(source, "tokenizer_config.json chat_template")
            : throw new InvalidOperationException(
                $"{modelDirectory}: the tokenizer has no chat_template; choose one with --template ({string.Join("|", ChatTemplate.BuiltInNames)})");
        return new ChatPrompter(template, tokenizer);
    }

    /// <summary>The prompt text for <paramref name="messages"/> with the generation prompt (the assistant turn opened).</summary>
    public string Render(JsonArray messages) =>
        Template.Render(messages, addGenerationPrompt: true, bosToken: Tokenizer.BosToken, eosToken: Tokenizer.EosToken);

    /// <summary>
    /// Prompt ids for <paramref name="messages"/>. The template already contains any BOS; HF's apply_chat_template
    /// tokenizes without adding special tokens.
    /// </summary>
    public int[] Encode(JsonArray messages) => Tokenizer.Encode(Render(messages), addSpecialTokens: false);

    /// <summary>Every id that ends a reply: <paramref name="eosIds"/> plus the end-of-turn token.</summary>
    public IReadOnlySet<int> StopIds(IEnumerable<int> eosIds)
    {
        var ids = new HashSet<int>(eosIds);
        if (EndOfTurnTokenId is { } eot) ids.Add(eot);
        return ids;
    }

    /// <summary>
    /// The special token the template writes right after an assistant message (e.g. <c>&lt;|im_end|&gt;</c>,
    /// <c>&lt;|eot_id|&gt;</c>, <c>&lt;/s&gt;</c>), or null when it writes plain text or the template cannot render a
    /// one-turn conversation.
    /// </summary>
    public static int? FindEndOfTurnTokenId(ChatTemplate template, HfTokenizer tok)
    {
        const string marker = "TUNESHARP_END_OF_REPLY_MARKER";
        string text;
        try
        {
            var messages = new JsonArray
            {
                new JsonObject { ["role"] = "user", ["content"] = "hi" },
                new JsonObject { ["role"] = "assistant", ["content"] = marker },
            };
            text = template.Render(messages, bosToken: tok.BosToken, eosToken: tok.EosToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // templates may insist on a system message or other shapes; then only EOS ids stop a reply
        }
        int at = text.LastIndexOf(marker, StringComparison.Ordinal);
        if (at < 0) return null;
        string after = text[(at + marker.Length)..];
        // The longest special token that the text after the reply starts with.
        return tok.SpecialTokenIds
            .Select(id => (Id: id, Text: tok.IdToToken(id)))
            .Where(t => !string.IsNullOrEmpty(t.Text) && after.StartsWith(t.Text, StringComparison.Ordinal))
            .OrderByDescending(t => t.Text!.Length)
            .Select(t => (int?)t.Id)
            .FirstOrDefault();
    }
}
