using System.Text;
using System.Text.RegularExpressions;

namespace TuneSharp.Core.Hub;

/// <summary>
/// Which repository files a snapshot download keeps. Patterns are shell globs matched against the whole repo path the
/// way huggingface_hub (fnmatch) does: <c>*</c> also crosses '/', <c>?</c> is one character, a trailing '/' means the folder.
/// </summary>
public static class AllowPatterns
{
    /// <summary>safetensors weights, JSON configs and tokenizer files; never pickled or framework-specific weights.</summary>
    public static IReadOnlyList<string> Default { get; } =
        ["*.safetensors", "*.json", "tokenizer.model", "*.tiktoken", "merges.txt", "vocab.txt"];

    /// <summary>Weight formats TuneSharp cannot load; they are skipped even when an allow-pattern matches.</summary>
    public static IReadOnlyList<string> AlwaysIgnored { get; } = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.msgpack", "*.h5", "*.onnx", "*.onnx_data", "*.gguf"];

    /// <summary>True when <paramref name="path"/> matches one of <paramref name="allow"/> and none of <see cref="AlwaysIgnored"/>.</summary>
    public static bool Keep(string path, IReadOnlyList<string> allow) =>
        allow.Any(p => Matches(path, p)) && !AlwaysIgnored.Any(p => Matches(path, p));

    /// <summary>fnmatch-style match of a repo path against one glob.</summary>
    public static bool Matches(string path, string pattern)
    {
        if (pattern.EndsWith('/')) pattern += "*";
        var rx = new StringBuilder("^");
        foreach (char c in pattern)
            rx.Append(c switch { '*' => ".*", '?' => ".", _ => Regex.Escape(c.ToString()) });
        rx.Append('$');
        return Regex.IsMatch(path, rx.ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }
}
