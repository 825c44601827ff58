using System.Text.Json.Nodes;
using TuneSharp.Data.Templates;
using TuneSharp.Testing;
using Xunit;

namespace TuneSharp.Data.Tests.Templates;

/// <summary>Loads the fixtures written by tools/chat_templates/render_reference.py (real Jinja2 output).</summary>
internal static class ReferenceFixtures
{
    /// <summary>The fixed clock the reference used for strftime_now.</summary>
    public static readonly DateTime FixedNow = new(2024, 7, 26, 14, 5, 9);

    public static JsonObject Load(string file) =>
        JsonNode.Parse(File.ReadAllText(Fixtures.Repo($"chat-templates/{file}")))!.AsObject();

    /// <summary>Checks one rendering (or failure) against the reference; returns a description of the mismatch or null.</summary>
    public static string? Compare(Func<string> render, JsonObject expected)
    {
        string? output = null;
        Exception? error = null;
        try { output = render(); }
        catch (Exception e) when (e is TemplateSyntaxException or TemplateRaisedException or TemplateRuntimeException) { error = e; }

        if (expected["output"] is { } want)
        {
            string w = want.GetValue<string>();
            if (error != null) return $"expected output {Show(w)} but got {error.GetType().Name}: {error.Message}";
            return output == w ? null : $"output differs:\n  want {Show(w)}\n  got  {Show(output!)}";
        }
        var err = expected["error"]!.AsObject();
        string kind = err["kind"]!.GetValue<string>(), message = err["message"]!.GetValue<string>();
        if (error == null) return $"expected {kind} error '{message}' but got output {Show(output!)}";
        switch (kind)
        {
            case "raised":
                return error is TemplateRaisedException && error.Message == message ? null
                    : $"expected raise_exception('{message}') but got {error.GetType().Name}: {error.Message}";
            case "syntax":
                int line = err["line"]!.GetValue<int>();
                return error is TemplateSyntaxException s && s.Line == line ? null
                    : $"expected syntax error on line {line} ('{message}') but got {error.GetType().Name}: {error.Message}";
            default:
                return error is TemplateRuntimeException r && r.Reason == message ? null
                    : $"expected runtime error '{message}' but got {error.GetType().Name}: {(error as TemplateRuntimeException)?.Reason ?? error.Message}";
        }
    }

    static string Show(string s) => System.Text.Json.JsonSerializer.Serialize(s,
        new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public static Dictionary<string, object?> Variables(JsonObject? vars)
    {
        var d = new Dictionary<string, object?>();
        if (vars != null)
            foreach (var kv in vars) d[kv.Key] = kv.Value?.DeepClone();
        return d;
    }
}
