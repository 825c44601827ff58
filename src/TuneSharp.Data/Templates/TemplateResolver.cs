using TuneSharp.Tokenizers;

namespace TuneSharp.Data.Templates;

/// <summary>Where a chosen chat template comes from.</summary>
public enum TemplateOrigin
{
    /// <summary>The tokenizer's own <c>chat_template</c> (a model's, or the trained one saved beside an adapter).</summary>
    Tokenizer,
    BuiltIn,
    File,
}

/// <summary>A chat template chosen for a run: the compiled template, its origin and a description for logs.</summary>
public sealed record ResolvedTemplate(ChatTemplate Template, TemplateOrigin Origin, string Description);

/// <summary>
/// The one place a chat template is chosen, for <c>data.template</c> and every <c>--template</c> option:
/// <c>auto</c> (or nothing) = the tokenizer's own <c>chat_template</c>, a built-in name, or a path to a Jinja file.
/// Loaded with an adapter that carries its trained template, the tokenizer is the adapter's (see ModelBundle), so
/// <c>auto</c> picks the template the adapter was trained with.
/// </summary>
public static class TemplateResolver
{
    public const string Auto = "auto";

    /// <summary>The accepted choices, for help and error texts.</summary>
    public static string ChoicesText => $"{Auto}, {string.Join(", ", ChatTemplate.BuiltInNames)} or a path to a .jinja file";

    /// <summary>
    /// The template for <paramref name="choice"/>, or null when it is <c>auto</c> and the tokenizer has none.
    /// <paramref name="owner"/> names whose tokenizer it is in the description ("model", "adapter").
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    /// <exception cref="FileNotFoundException">A template file that does not exist.</exception>
    public static ResolvedTemplate? Resolve(string? choice, HfTokenizer tokenizer, string owner = "model")
    {
        if (choice is null or Auto)
            return tokenizer.ChatTemplate is { } source
                ? new ResolvedTemplate(ChatTemplate.FromSource(source, $"{owner} chat_template"), TemplateOrigin.Tokenizer,
                    $"{owner} (tokenizer_config.json chat_template)")
                : null;
        if (ChatTemplate.BuiltInNames.Contains(choice))
            return new ResolvedTemplate(ChatTemplate.BuiltIn(choice), TemplateOrigin.BuiltIn, $"{choice} (built-in)");
        if (IsPath(choice))
        {
            if (!File.Exists(choice)) throw new FileNotFoundException($"chat template file not found: {Path.GetFullPath(choice)}", choice);
            return new ResolvedTemplate(ChatTemplate.FromSource(File.ReadAllText(choice), choice), TemplateOrigin.File, choice);
        }
        throw new ArgumentException($"unknown chat template '{choice}'; use {ChoicesText}");
    }

    /// <summary>Like <see cref="Resolve"/>, but a missing template is an error naming <paramref name="directory"/> and the <paramref name="option"/> to set.</summary>
    public static ResolvedTemplate Require(string? choice, HfTokenizer tokenizer, string directory, string option = "--template", string owner = "model") =>
        Resolve(choice, tokenizer, owner)
        ?? throw new InvalidOperationException($"{directory}: the tokenizer has no chat_template; choose one with {option} ({ChoicesText})");

    /// <summary>Whether a choice names a file rather than a built-in template.</summary>
    public static bool IsPath(string choice) =>
        choice.EndsWith(".jinja", StringComparison.Ordinal) || choice.EndsWith(".j2", StringComparison.Ordinal)
        || choice.Contains('/') || choice.Contains('\\') || File.Exists(choice);
}
