using System.Text;

namespace TuneSharp.Export.Ollama;

/// <summary>A probe conversation: (role, content) turns; the prompt ends with the assistant's generation prompt.</summary>
public sealed record ProbeTurn(string Role, string Content);

/// <summary>
/// A chat prompt format Ollama can express: how a conversation is laid out (for recognising an HF chat template by its
/// output) and the same layout as an Ollama Go template, plus the strings that end a turn (Modelfile stops).
/// </summary>
public abstract record ChatFormat(string Name, IReadOnlyList<string> Stops)
{
    /// <summary>The prompt text for a conversation, generation prompt included, without the leading BOS.</summary>
    public abstract string Render(IReadOnlyList<ProbeTurn> turns);

    /// <summary>The Ollama TEMPLATE (Go text/template over .Messages) producing the same text.</summary>
    public abstract string GoTemplate { get; }

    /// <summary>The formats recognised, for a tokenizer whose EOS string is <paramref name="eos"/>.</summary>
    public static IReadOnlyList<ChatFormat> Known(string eos) =>
    [
        new HeaderFormat("chatml", "<|im_start|>", "\n", "<|im_end|>\n", ["<|im_start|>", "<|im_end|>"]),
        new HeaderFormat("llama3", "<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>", ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]),
        new HeaderFormat("phi3", "<|", "|>\n", "<|end|>\n", ["<|end|>", "<|user|>", "<|assistant|>"]),
        new HeaderFormat("zephyr", "<|", "|>\n", eos + "\n", [eos, "<|user|>", "<|assistant|>"]),
        new HeaderFormat("granite", "<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>\n", ["<|start_of_role|>", "<|end_of_text|>"]),
        new HeaderFormat("gemma", "<start_of_turn>", "\n", "<end_of_turn>\n", ["<start_of_turn>", "<end_of_turn>"])
        {
            AssistantRole = "model", SystemInFirstUser = true,
        },
        new InstFormat("llama2", SystemAsSysBlock: true, eos),
        new InstFormat("mistral", SystemAsSysBlock: false, eos),
    ];
}

/// <summary>
/// Turns as `Before + role + After + content + Suffix`, the generation prompt as the assistant's header
/// (ChatML, Llama-3, Phi-3, Zephyr, Granite, Gemma). Gemma has no system role: the system text opens the first user turn.
/// </summary>
public sealed record HeaderFormat(string FormatName, string Before, string After, string Suffix, IReadOnlyList<string> StopStrings)
    : ChatFormat(FormatName, StopStrings)
{
    public string AssistantRole { get; init; } = "assistant";
    public bool SystemInFirstUser { get; init; }

    public override string Render(IReadOnlyList<ProbeTurn> turns)
    {
        var sb = new StringBuilder();
        string pendingSystem = "";
        foreach (var t in turns)
        {
            if (t.Role == "system" && SystemInFirstUser) { pendingSystem = t.Content + "\n\n"; continue; }
            string role = t.Role == "assistant" ? AssistantRole : t.Role;
            string content = t.Role == "user" ? pendingSystem + t.Content : t.Content;
            if (t.Role == "user") pendingSystem = "";
            sb.Append(Before).Append(role).Append(After).Append(content).Append(Suffix);
        }
        return sb.Append(Before).Append(AssistantRole).Append(After).ToString();
    }

    public override string GoTemplate
    {
        get
        {
            // No "{{-" trimming: the literal newlines of the format are part of the prompt.
            string role = AssistantRole == "assistant" ? "{{ .Role }}" : $"{{{{ if eq .Role \"assistant\" }}}}{AssistantRole}{{{{ else }}}}{{{{ .Role }}}}{{{{ end }}}}";
            if (!SystemInFirstUser)
                return $"{{{{ range .Messages }}}}{Before}{role}{After}{{{{ .Content }}}}{Suffix}{{{{ end }}}}{Before}{AssistantRole}{After}";
            return "{{ $system := \"\" }}{{ range .Messages }}{{ if eq .Role \"system\" }}{{ $system = .Content }}{{ else }}"
                + $"{Before}{role}{After}{{{{ if and (eq .Role \"user\") $system }}}}{{{{ $system }}}}\n\n{{{{ $system = \"\" }}}}{{{{ end }}}}{{{{ .Content }}}}{Suffix}"
                + $"{{{{ end }}}}{{{{ end }}}}{Before}{AssistantRole}{After}";
        }
    }
}

/// <summary>
/// `[INST] user [/INST] assistant EOS` formats: Llama-2 (system in a &lt;&lt;SYS&gt;&gt; block inside the first [INST], BOS
/// before every later [INST]) and Mistral (system text before the first [INST]).
/// </summary>
public sealed record InstFormat(string FormatName, bool SystemAsSysBlock, string Eos) : ChatFormat(FormatName, ["[INST]", "[/INST]", Eos])
{
    const string Bos = "<s>";

    public override string Render(IReadOnlyList<ProbeTurn> turns)
    {
        var sb = new StringBuilder();
        string system = "";
        bool first = true;
        foreach (var t in turns)
        {
            switch (t.Role)
            {
                case "system" when SystemAsSysBlock: system = $"<<SYS>>\n{t.Content}\n<</SYS>>\n\n"; break;
                case "system": sb.Append(t.Content).Append("\n\n"); break;
                case "user":
                    if (SystemAsSysBlock && !first) sb.Append(Bos);
                    sb.Append("[INST] ").Append(system).Append(t.Content).Append(" [/INST]");
                    system = "";
                    first = false;
                    break;
                default: sb.Append(' ').Append(t.Content).Append(SystemAsSysBlock ? " " : "").Append(Eos); break;
            }
        }
        return sb.ToString();
    }

    public override string GoTemplate => SystemAsSysBlock
        ? "{{ $system := \"\" }}{{ $first := true }}{{ range .Messages }}{{ if eq .Role \"system\" }}{{ $system = .Content }}"
          + "{{ else if eq .Role \"user\" }}{{ if not $first }}" + Bos + "{{ end }}[INST] {{ if $system }}<<SYS>>\n{{ $system }}\n<</SYS>>\n\n{{ $system = \"\" }}{{ end }}{{ .Content }} [/INST]{{ $first = false }}"
          + "{{ else }} {{ .Content }} " + Eos + "{{ end }}{{ end }}"
        : "{{ range .Messages }}{{ if eq .Role \"system\" }}{{ .Content }}\n\n"
          + "{{ else if eq .Role \"user\" }}[INST] {{ .Content }} [/INST]"
          + "{{ else }} {{ .Content }}" + Eos + "{{ end }}{{ end }}";
}
