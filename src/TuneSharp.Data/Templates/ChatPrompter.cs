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
    /// The id of the special token the template writes right after an assistant message (e.g. <c>&lt;|im_end|&gt;</c>,
    /// <c>&lt;|eot_id|&gt;</c>, <c>&lt;/s&gt;</c>), or null when it writes plain text: the end-of-turn marker the data
    /// encoder trains (<see cref="Encoding.ChatRenderer.EndOfTurn"/>), so generation stops where training taught it to.
    /// </summary>
    public static int? FindEndOfTurnTokenId(ChatTemplate template, HfTokenizer tok) =>
        Encoding.ChatRenderer.For(tok, template).EndOfTurn is { } marker ? tok.TokenToId(marker) : null;
}
