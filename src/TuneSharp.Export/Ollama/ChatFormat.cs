namespace TuneSharp.Export.Ollama;

/// <summary>
/// A chat prompt layout written as an Ollama TEMPLATE (Go text/template over <c>.Messages</c>) with the strings that end
/// a turn (Modelfile stops). A format is only ever emitted after <see cref="Modelfile"/> has checked, with the exact
/// evaluator, that it renders what the model's HF chat template renders.
/// </summary>
public sealed record ChatFormat(string Name, string GoTemplate, IReadOnlyList<string> Stops)
{
    /// <summary>
    /// The layouts tried, in order, for a tokenizer whose BOS and EOS strings are <paramref name="bos"/> and
    /// <paramref name="eos"/>. Layouts that carry the system text inside the first user turn use a <c>$first</c> flag;
    /// <c>$.System</c> is Ollama's join of the system messages. A leading BOS is never written: llama.cpp/Ollama add it
    /// when the GGUF says so.
    /// </summary>
    public static IReadOnlyList<ChatFormat> Known(string bos, string eos) =>
    [
        new("chatml", "{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
            ["<|im_start|>", "<|im_end|>"]),
        new("llama3", "{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n", ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]),
        // Mistral as TuneSharp's built-in template: the system text opens the first [INST].
        new("mistral", "{{ $first := true }}{{ range .Messages }}{{ if eq .Role \"user\" }}[INST] {{ if and $first $.System }}{{ $.System }}\n\n{{ end }}"
            + "{{ .Content }} [/INST]{{ $first = false }}{{ else if eq .Role \"assistant\" }} {{ .Content }}" + eos + "{{ end }}{{ end }}",
            ["[INST]", "[/INST]", eos]),
        // Mistral with the system text before the first [INST] (a common community template).
        new("mistral-system-first", "{{ if .System }}{{ .System }}\n\n{{ end }}{{ range .Messages }}{{ if eq .Role \"user\" }}[INST] {{ .Content }} [/INST]"
            + "{{ else if eq .Role \"assistant\" }} {{ .Content }}" + eos + "{{ end }}{{ end }}", ["[INST]", "[/INST]", eos]),
        // Mistral-7B-Instruct v0.1/v0.2: no system role, no space before the reply.
        new("mistral-v0.1", "{{ range .Messages }}{{ if eq .Role \"user\" }}[INST] {{ .Content }} [/INST]"
            + "{{ else if eq .Role \"assistant\" }}{{ .Content }}" + eos + "{{ end }}{{ end }}", ["[INST]", "[/INST]", eos]),
        new("llama2", "{{ $first := true }}{{ range .Messages }}{{ if eq .Role \"user\" }}{{ if not $first }}" + bos + "{{ end }}[INST] "
            + "{{ if and $first $.System }}<<SYS>>\n{{ $.System }}\n<</SYS>>\n\n{{ end }}{{ .Content }} [/INST]{{ $first = false }}"
            + "{{ else if eq .Role \"assistant\" }} {{ .Content }} " + eos + "{{ end }}{{ end }}", ["[INST]", "[/INST]", eos]),
        // Gemma has no system role: the system text opens the first user turn.
        new("gemma", "{{ $first := true }}{{ range .Messages }}{{ if ne .Role \"system\" }}<start_of_turn>"
            + "{{ if eq .Role \"assistant\" }}model{{ else }}{{ .Role }}{{ end }}\n{{ if and $first $.System }}{{ $.System }}\n\n{{ end }}"
            + "{{ $first = false }}{{ .Content }}<end_of_turn>\n{{ end }}{{ end }}<start_of_turn>model\n", ["<start_of_turn>", "<end_of_turn>"]),
        new("phi3", "{{ range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n", ["<|end|>", "<|user|>", "<|assistant|>"]),
        new("zephyr", "{{ range .Messages }}<|{{ .Role }}|>\n{{ .Content }}" + eos + "\n{{ end }}<|assistant|>\n", [eos, "<|user|>", "<|assistant|>"]),
        new("granite", "{{ range .Messages }}<|start_of_role|>{{ .Role }}<|end_of_role|>{{ .Content }}<|end_of_text|>\n{{ end }}"
            + "<|start_of_role|>assistant<|end_of_role|>", ["<|start_of_role|>", "<|end_of_text|>"]),
        new("alpaca", "{{ range .Messages }}{{ if eq .Role \"system\" }}{{ .Content }}\n\n{{ else if eq .Role \"user\" }}### Instruction:\n{{ .Content }}\n\n"
            + "{{ else if eq .Role \"assistant\" }}### Response:\n{{ .Content }}" + eos + "\n\n{{ end }}{{ end }}### Response:\n", ["### Instruction:", eos]),
        new("plain", "{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant: ", ["user:"]),
    ];
}
