using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests.Templates;

/// <summary>
/// Deterministic mutation fuzzing of the real templates: whatever the source, Compile and Render may only fail with
/// TemplateSyntaxException, TemplateRaisedException or TemplateRuntimeException, and must terminate.
/// </summary>
public sealed class JinjaFuzzTests
{
    static readonly string[] Fragments =
    [
        "{%", "%}", "{{", "}}", "{#", "#}", "-", "+", "(", ")", "[", "]", "{", "}", "'", "\"", "|", ".", ",", ":", "~", "*", "**",
        "/", "//", "%", "=", "==", " if ", " else ", " in ", " not ", " and ", " or ", " is ", "endfor", "endif", "endmacro", "loop",
        "loop.index0", "messages", "message", "ns", "namespace(", "raise_exception(", "range(99999)", "range(-5, 5, 2)",
        "{% for x in range(1000) %}", "{% endfor %}", "{% set x = ", "{% macro m(a) %}{{ m(a) }}{% endmacro %}{{ m(1) }}",
        "|tojson", "|trim", "|length", "|join", "|default(", "|map(attribute='role')", "|selectattr('role')", "[::-1]", "[1:]",
        "[-1]", "0", "-1", "1e308", "9223372036854775807", "none", "true", "'\\u00e9'", "'\\x'", "\n", "    ", "{% raw %}",
        "{% endraw %}", "{% break %}", "{% continue %}", "{% generation %}", "is defined", "is string", ".split(", ".strip(",
        "'a' * 1000", "+ 1", "~ loop", "ns.x = ns", "{{ ns }}", "{% set ns.y = ns %}{{ ns|tojson }}",
    ];

    static List<(string Name, string Source)> Sources()
    {
        var list = new List<(string, string)>();
        foreach (var tok in new[] { "qwen3", "llama3" })
        {
            var cfg = JsonNode.Parse(File.ReadAllText(Fixtures.Get($"tokenizers/{tok}/tokenizer_config.json")))!;
            list.Add((tok, cfg["chat_template"]!.GetValue<string>()));
        }
        foreach (var f in Directory.GetFiles(Fixtures.Get("chat-templates"), "*.jinja").Order())
            list.Add((Path.GetFileName(f), File.ReadAllText(f)));
        foreach (var name in ChatTemplate.BuiltInNames) list.Add((name, ChatTemplate.BuiltIn(name).Source));
        return list;
    }

    static string Mutate(string s, Random rng)
    {
        int edits = rng.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            int pos = s.Length == 0 ? 0 : rng.Next(s.Length);
            int len = Math.Min(s.Length - pos, rng.Next(1, 12));
            switch (rng.Next(5))
            {
                case 0: s = s.Remove(pos, len); break;                                               // delete a span
                case 1: s = s.Insert(pos, Fragments[rng.Next(Fragments.Length)]); break;             // insert a token
                case 2: s = s.Insert(pos, s.Substring(pos, len)); break;                              // duplicate a span
                case 3: s = s.Remove(pos, len).Insert(pos, Fragments[rng.Next(Fragments.Length)]); break; // replace a span
                default:                                                                             // move a span
                    string piece = s.Substring(pos, len);
                    s = s.Remove(pos, len);
                    s = s.Insert(s.Length == 0 ? 0 : rng.Next(s.Length), piece);
                    break;
            }
        }
        return s;
    }

    [Fact]
    public void MutatedTemplates_FailOnlyWithTemplateExceptions()
    {
        var sources = Sources();
        var conv = ReferenceFixtures.Load("conversations.json");
        var convs = conv["conversations"]!.AsArray();
        var vars = new[] { "tool_call_multi", "single_turn", "thinking_history" }.Select(id =>
        {
            var c = convs.Single(x => x!["id"]!.GetValue<string>() == id)!;
            return new Dictionary<string, object?>
            {
                ["messages"] = c["messages"]!.DeepClone(), ["tools"] = conv["tools"]!.DeepClone(), ["add_generation_prompt"] = true,
                ["bos_token"] = "<s>", ["eos_token"] = "</s>",
            };
        }).ToArray();
        var options = new JinjaRenderOptions
        {
            Now = () => ReferenceFixtures.FixedNow,
            Limits = new JinjaLimits { MaxLoopIterations = 20_000, MaxOutputChars = 1_000_000, MaxMacroCalls = 5_000 },
        };

        // TUNESHARP_FUZZ_ITERATIONS / TUNESHARP_FUZZ_SEED allow longer local runs; CI uses the fixed defaults.
        int total = int.TryParse(Environment.GetEnvironmentVariable("TUNESHARP_FUZZ_ITERATIONS"), out int n) ? n : 3000;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("TUNESHARP_FUZZ_SEED"), out int sd) ? sd : 20240726;
        var rng = new Random(seed);
        var unexpected = new List<string>();
        int compiled = 0, rendered = 0;
        for (int i = 0; i < total; i++)
        {
            var (name, source) = sources[i % sources.Count];
            string mutant = Mutate(source, rng);
            try
            {
                var t = JinjaTemplate.Compile(mutant, name);
                compiled++;
                t.Render(vars[i % vars.Length], options);
                rendered++;
            }
            catch (Exception e) when (e is TemplateSyntaxException or TemplateRaisedException or TemplateRuntimeException) { }
            catch (Exception e)
            {
                if (unexpected.Count < 10) unexpected.Add($"#{i} {name}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}\n--- source ---\n{mutant}");
                else unexpected.Add($"#{i}");
            }
        }
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} unexpected exceptions:\n" + string.Join("\n\n", unexpected.Take(10)));
        // The mutations must exercise both the parser's error paths and the renderer.
        Assert.InRange(compiled, total / 10, total - 1);
        Assert.InRange(rendered, total / 20, total - 1);
    }
}
