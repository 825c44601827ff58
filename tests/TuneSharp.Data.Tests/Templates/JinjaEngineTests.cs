using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using Xunit;

namespace TuneSharp.Data.Tests.Templates;

/// <summary>Engine behaviour specific to this implementation: API, error locations, limits, inputs, built-ins.</summary>
public sealed class JinjaEngineTests
{
    static string Render(string source, Dictionary<string, object?>? vars = null, JinjaRenderOptions? options = null) =>
        JinjaTemplate.Compile(source, "t").Render(vars ?? [], options);

    [Fact]
    public void SyntaxError_ReportsNameLineAndColumn()
    {
        var ex = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Compile("line1\n  {{ 1 + }}", "my.jinja"));
        Assert.Equal("my.jinja", ex.TemplateName);
        Assert.Equal(2, ex.Line);
        Assert.Equal(10, ex.Column);  // the '}}' that ends the incomplete expression
        Assert.StartsWith("my.jinja:2:10:", ex.Message);
    }

    [Fact]
    public void SyntaxError_UnclosedBlock_PointsAtEndOfTemplate()
    {
        var ex = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Compile("{% for x in y %}\nbody\n"));
        Assert.Equal(2, ex.Line);
        Assert.Contains("endfor", ex.Reason);
    }

    [Fact]
    public void UnknownFilter_FailsAtCompileTime_NotAtRender()
    {
        var ex = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Compile("{% if false %}{{ x | nope }}{% endif %}"));
        Assert.Contains("nope", ex.Reason);
    }

    [Fact]
    public void RuntimeError_CarriesTemplateLine()
    {
        var ex = Assert.Throws<TemplateRuntimeException>(() => Render("a\nb\n{{ x.y }}"));
        Assert.Equal(3, ex.Line);
        Assert.Equal("'x' is undefined", ex.Reason);
    }

    [Fact]
    public void RaiseException_ThrowsTemplateRaisedException_WithMessage()
    {
        var ex = Assert.Throws<TemplateRaisedException>(() => Render("{{ raise_exception('no ' ~ n) }}", new() { ["n"] = 3L }));
        Assert.Equal("no 3", ex.Message);
    }

    [Fact]
    public void CompiledTemplate_RendersManyTimes_WithDifferentVariables_InParallel()
    {
        var t = JinjaTemplate.Compile("{% for m in messages %}{{ loop.index }}:{{ m }};{% endfor %}");
        var results = new string[200];
        Parallel.For(0, results.Length, i => results[i] = t.Render(new Dictionary<string, object?> { ["messages"] = new List<object?> { $"a{i}", i } }));
        for (int i = 0; i < results.Length; i++) Assert.Equal($"1:a{i};2:{i};", results[i]);
    }

    [Fact]
    public void ClrInputs_RenderLikeJsonNodes()
    {
        const string src = "{{ m.role }}|{{ m.n + 1 }}|{{ m.x }}|{{ m.tags }}|{{ m.flag }}|{{ m.none }}|{{ m|tojson }}";
        var clr = new Dictionary<string, object?>
        {
            ["role"] = "user", ["n"] = 41, ["x"] = 0.5, ["tags"] = new[] { "a", "b" }, ["flag"] = true, ["none"] = null,
        };
        var json = JsonNode.Parse("""{"role":"user","n":41,"x":0.5,"tags":["a","b"],"flag":true,"none":null}""");
        string a = Render(src, new() { ["m"] = clr }), b = Render(src, new() { ["m"] = json });
        Assert.Equal("user|42|0.5|['a', 'b']|True|None|{\"role\": \"user\", \"n\": 41, \"x\": 0.5, \"tags\": [\"a\", \"b\"], \"flag\": true, \"none\": null}", a);
        Assert.Equal(a, b);
    }

    [Fact]
    public void LoopIterationLimit_StopsRunawayLoops()
    {
        var options = new JinjaRenderOptions { Limits = new JinjaLimits { MaxLoopIterations = 10_000 } };
        var ex = Assert.Throws<TemplateRuntimeException>(() =>
            Render("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", options: options));
        Assert.Contains("10000 loop iterations", ex.Reason);
    }

    [Fact]
    public void MacroRecursion_IsBounded()
    {
        var ex = Assert.Throws<TemplateRuntimeException>(() => Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"));
        Assert.Contains("recursion", ex.Reason);
        // Exponential fan-out without loops is bounded by the total call count.
        var options = new JinjaRenderOptions { Limits = new JinjaLimits { MaxMacroCalls = 1000 } };
        var ex2 = Assert.Throws<TemplateRuntimeException>(() =>
            Render("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}", options: options));
        Assert.Contains("1000 macro calls", ex2.Reason);
    }

    [Fact]
    public void OutputAndSequenceLimits_AreEnforced()
    {
        var options = new JinjaRenderOptions { Limits = new JinjaLimits { MaxOutputChars = 5000 } };
        Assert.Throws<TemplateRuntimeException>(() => Render("{% for i in range(100) %}{{ 'x' * 100 }}{% endfor %}", options: options));
        Assert.Throws<TemplateRuntimeException>(() => Render("{{ 'x' * 100000000 }}"));
        Assert.Throws<TemplateRuntimeException>(() => Render("{{ range(1000000)|length }}"));
    }

    [Fact]
    public void DeeplyNestedSource_IsASyntaxError_NotAStackOverflow()
    {
        Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Compile("{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}"));
        Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Compile(string.Concat(Enumerable.Repeat("{% if x %}", 5000))));
        Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Compile("{{ " + string.Concat(Enumerable.Repeat("not ", 5000)) + "x }}"));
    }

    [Fact]
    public void ChatTemplate_PassesToolsAsNone_AndLeavesUnsetTokensUndefined()
    {
        var t = ChatTemplate.FromSource("{{ tools is none }}|{{ tools is defined }}|{{ bos_token is defined }}|{{ eos_token }}|{{ enable_thinking }}");
        var msgs = new JsonArray();
        Assert.Equal("True|True|False|</s>|False", t.Render(msgs, eosToken: "</s>", extra: new Dictionary<string, object?> { ["enable_thinking"] = false }));
    }

    [Fact]
    public void ChatTemplate_StrftimeNow_UsesClock()
    {
        var t = ChatTemplate.FromSource("{{ strftime_now('%d %b %Y') }}").WithClock(() => new DateTime(2025, 1, 2));
        Assert.Equal("02 Jan 2025", t.Render(new JsonArray()));
    }

    [Fact]
    public void BuiltIn_KnownNames_Compile_AndUnknownNameListsThem()
    {
        Assert.Equal(["chatml", "llama3", "mistral", "alpaca", "plain"], ChatTemplate.BuiltInNames);
        var msgs = JsonNode.Parse("""[{"role":"user","content":"Hi"}]""")!.AsArray();
        foreach (var name in ChatTemplate.BuiltInNames)
            Assert.Contains("Hi", ChatTemplate.BuiltIn(name).Render(msgs, addGenerationPrompt: true));
        var ex = Assert.Throws<ArgumentException>(() => ChatTemplate.BuiltIn("vicuna"));
        Assert.Contains("chatml, llama3, mistral, alpaca, plain", ex.Message);
    }

    [Fact]
    public void BuiltIn_Chatml_HasTheChatmlShape()
    {
        var msgs = JsonNode.Parse("""[{"role":"system","content":"S"},{"role":"user","content":"U"}]""")!.AsArray();
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.BuiltIn("chatml").Render(msgs, addGenerationPrompt: true));
    }
}
