using System.Text.Json.Nodes;
using TuneSharp.Tokenizers;

namespace TuneSharp.Data.Templates;

/// <summary>
/// A model's chat format for generation, the one used by `chat`, `serve`, `generate --chat` and the training samples:
/// its template, how a conversation becomes prompt ids, and the token that ends a reply.
/// </summary>
public sealed class ChatPrompter
{
    public ChatPrompter(ChatTemplate template, HfTokenizer tokenizer)
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
    /// The template chosen by <paramref name="choice"/> (<see cref="TemplateResolver"/>: auto = the tokenizer's own, a
    /// built-in name or a .jinja file); fails naming <paramref name="directory"/> when auto finds none.
    /// </summary>
    public static ChatPrompter For(HfTokenizer tokenizer, string directory, string? choice, string owner = "model") =>
        new(TemplateResolver.Require(choice, tokenizer, directory, owner: owner).Template, tokenizer);

    /// <summary>A single user message (after an optional system message), as training samples and `generate --chat` prompt.</summary>
    public static JsonArray UserMessage(string prompt, string? system = null)
    {
        var messages = new JsonArray();
        if (system != null) messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = prompt });
        return messages;
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
