// Renders template cases with Go's own text/template, as Ollama executes chat templates, and writes the results as the
// fixture that TuneSharp's Go-template evaluator is checked against (tests/fixtures/ollama/go-template-expected.json).
//
// A case is {"name", "template", and either "data" (any JSON: the template's dot; JSON numbers are float64, as
// encoding/json decodes them) or "messages" + optional "system" (an Ollama chat request: the Modelfile SYSTEM is
// prepended when the request does not start with a system message, consecutive same-role messages are merged with a
// blank line, and the template runs over .Messages with .System = the system messages joined by a blank line)}.
// The output keeps each case and adds "output" or "error". Written for this project from Ollama's documented behaviour
// (server/routes.go, template/template.go); it does not import Ollama.
//
// Usage: go run render.go engine-cases.json format-cases.json > ../../tests/fixtures/ollama/go-template-expected.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/template"
)

type Message struct {
	Role      string   `json:"role"`
	Content   string   `json:"content"`
	Thinking  string   `json:"-"`
	Images    []string `json:"-"`
	ToolCalls []any    `json:"-"`
	ToolName  string   `json:"-"`
}

type Case struct {
	Name     string           `json:"name"`
	Template string           `json:"template"`
	Data     *json.RawMessage `json:"data,omitempty"`
	Messages []Message        `json:"messages,omitempty"`
	System   string           `json:"system,omitempty"`
	Output   *string          `json:"output,omitempty"`
	Error    *string          `json:"error,omitempty"`
}

// chatValues shapes a chat request the way Ollama's chat handler and Template.Execute do for templates over .Messages.
func chatValues(c Case) map[string]any {
	msgs := append([]Message{}, c.Messages...)
	if c.System != "" && len(msgs) > 0 && msgs[0].Role != "system" {
		msgs = append([]Message{{Role: "system", Content: c.System}}, msgs...)
	}
	var system []string
	var collated []*Message
	for i := range msgs {
		if msgs[i].Role == "system" {
			system = append(system, msgs[i].Content)
		}
		if len(collated) > 0 && collated[len(collated)-1].Role == msgs[i].Role && msgs[i].Role != "tool" {
			collated[len(collated)-1].Content += "\n\n" + msgs[i].Content
		} else {
			collated = append(collated, &msgs[i])
		}
	}
	return map[string]any{
		"System": strings.Join(system, "\n\n"), "Messages": collated, "Tools": []any{}, "Response": "",
		"Think": false, "IsThinkSet": false, "Query": "", "Document": "", "Instruction": "",
	}
}

func render(c Case) (string, error) {
	t, err := template.New("").Option("missingkey=zero").Parse(c.Template)
	if err != nil {
		return "", err
	}
	var data any
	if c.Data != nil {
		if err := json.Unmarshal(*c.Data, &data); err != nil {
			return "", err
		}
	} else {
		data = chatValues(c)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

func main() {
	var all []Case
	for _, path := range os.Args[1:] {
		raw, err := os.ReadFile(path)
		if err != nil {
			panic(err)
		}
		var cases []Case
		if err := json.Unmarshal(raw, &cases); err != nil {
			panic(fmt.Sprintf("%s: %v", path, err))
		}
		all = append(all, cases...)
	}
	for i := range all {
		out, err := render(all[i])
		if err != nil {
			msg := err.Error()
			all[i].Error = &msg
		} else {
			all[i].Output = &out
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"go_version": runtime.Version(), "cases": all}); err != nil {
		panic(err)
	}
}
