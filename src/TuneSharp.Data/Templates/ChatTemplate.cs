using System.Reflection;
using System.Text.Json.Nodes;

namespace TuneSharp.Data.Templates;

/// <summary>
/// A chat template rendered with Hugging Face <c>apply_chat_template</c> semantics (tokenize=False): variables
/// <c>messages</c>, <c>tools</c> (None when absent), <c>documents</c> (None), <c>add_generation_prompt</c>, the special
/// tokens that are set, and extra keyword arguments (e.g. <c>enable_thinking</c>).
/// </summary>
public sealed class ChatTemplate
{
    static readonly string[] Known = ["chatml", "llama3", "mistral", "alpaca", "plain"];

    ChatTemplate(JinjaTemplate template, string source)
    {
        Template = template;
        Source = source;
    }

    /// <summary>The compiled template.</summary>
    public JinjaTemplate Template { get; }
    /// <summary>The Jinja source.</summary>
    public string Source { get; }
    /// <summary>Clock for <c>strftime_now</c>; null means the local time.</summary>
    public Func<DateTime>? Clock { get; private init; }

    /// <summary>A copy whose <c>strftime_now</c> reads <paramref name="clock"/> (for reproducible prompts and tests).</summary>
    public ChatTemplate WithClock(Func<DateTime> clock) => new(Template, Source) { Clock = clock };

    /// <summary>Names accepted by <see cref="BuiltIn"/>.</summary>
    public static IReadOnlyList<string> BuiltInNames => Known;

    /// <summary>Compiles a template source (e.g. <c>chat_template</c> of a tokenizer_config.json).</summary>
    public static ChatTemplate FromSource(string source, string? name = null) => new(JinjaTemplate.Compile(source, name), source);

    /// <summary>One of the fallback templates shipped with TuneSharp (see <see cref="BuiltInNames"/>).</summary>
    public static ChatTemplate BuiltIn(string name)
    {
        if (!Known.Contains(name))
            throw new ArgumentException($"unknown built-in chat template '{name}'; known: {string.Join(", ", Known)}", nameof(name));
        var asm = typeof(ChatTemplate).Assembly;
        using var stream = asm.GetManifestResourceStream($"TuneSharp.Data.Templates.BuiltIn.{name}.jinja")
            ?? throw new InvalidOperationException($"embedded resource for built-in chat template '{name}' is missing");
        using var reader = new StreamReader(stream);
        return FromSource(reader.ReadToEnd(), name);
    }

    /// <summary>Renders a conversation to the prompt text.</summary>
    public string Render(JsonArray messages, bool addGenerationPrompt = false, JsonArray? tools = null,
        string? bosToken = null, string? eosToken = null, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var vars = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["tools"] = tools,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        // transformers passes only the special tokens that are set; unset ones stay undefined.
        if (bosToken != null) vars["bos_token"] = bosToken;
        if (eosToken != null) vars["eos_token"] = eosToken;
        if (extra != null)
            foreach (var kv in extra) vars[kv.Key] = kv.Value;
        return Template.Render(vars, Clock == null ? null : new JinjaRenderOptions { Now = Clock });
    }
}
