using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests.Templates;

/// <summary>
/// Every template (qwen3, llama3, the shared *.jinja files, the built-ins) × every conversation in
/// conversations.json × add_generation_prompt must render byte-for-byte as Jinja2 did (expected.json).
/// </summary>
public sealed class ChatTemplateReferenceTests
{
    static readonly JsonObject Expected = ReferenceFixtures.Load("expected.json");
    static readonly JsonObject Conversations = ReferenceFixtures.Load("conversations.json");

    public static TheoryData<string> TemplateIds()
    {
        var data = new TheoryData<string>();
        foreach (var kv in Expected["templates"]!.AsObject()) data.Add(kv.Key);
        return data;
    }

    static ChatTemplate Load(string id, JsonObject info)
    {
        if (info["shared_tokenizer_config"] is { } cfgPath)
        {
            var cfg = JsonNode.Parse(File.ReadAllText(Fixtures.Get(cfgPath.GetValue<string>())))!;
            return ChatTemplate.FromSource(cfg["chat_template"]!.GetValue<string>(), id);
        }
        if (info["shared_file"] is { } file) return ChatTemplate.FromSource(File.ReadAllText(Fixtures.Get(file.GetValue<string>())), id);
        return ChatTemplate.BuiltIn(info["builtin"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(TemplateIds))]
    public void Template_RendersEveryConversation_AsJinja2(string templateId)
    {
        var info = Expected["templates"]![templateId]!.AsObject();
        var template = Load(templateId, info).WithClock(() => ReferenceFixtures.FixedNow);
        string? bos = info["bos_token"]?.GetValue<string>(), eos = info["eos_token"]?.GetValue<string>();
        var convs = Conversations["conversations"]!.AsArray().ToDictionary(c => c!["id"]!.GetValue<string>(), c => c!.AsObject());
        var tools = Conversations["tools"]!.AsArray();

        var failures = new List<string>();
        int checkedCases = 0;
        foreach (var node in Expected["cases"]!.AsArray())
        {
            var c = node!.AsObject();
            if (c["template"]!.GetValue<string>() != templateId) continue;
            var conv = convs[c["conversation"]!.GetValue<string>()];
            bool agp = c["add_generation_prompt"]!.GetValue<bool>();
            var messages = conv["messages"]!.DeepClone().AsArray();
            var useTools = conv["use_tools"]?.GetValue<bool>() == true ? tools.DeepClone().AsArray() : null;
            var extra = conv["extra"] is JsonObject e ? ReferenceFixtures.Variables(e) : null;
            string? problem = ReferenceFixtures.Compare(() => template.Render(messages, agp, useTools, bos, eos, extra), c);
            if (problem != null) failures.Add($"[{conv["id"]}, add_generation_prompt={agp}] {problem}");
            checkedCases++;
        }
        Assert.True(checkedCases > 0, $"no cases for {templateId}");
        Assert.True(failures.Count == 0, $"{failures.Count}/{checkedCases} cases differ for {templateId}:\n" + string.Join("\n", failures));
    }
}
