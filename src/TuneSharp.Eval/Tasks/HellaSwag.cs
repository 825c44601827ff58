using System.Text;
using System.Text.RegularExpressions;

namespace TuneSharp.Eval.Tasks;

/// <summary>
/// HellaSwag from the text form (bz2; 6 lines per item: "activity_label: ctx", label, 4 endings). The harness's query is
/// preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()) and each choice preprocess(ending); acc, acc_norm.
/// The text form joined ctx_a and ctx_b, so ctx_b is taken as the part after the last sentence end (". ") when it starts
/// in lower case, the usual shape of ActivityNet items (docs/eval.md says where this can differ).
/// </summary>
public static partial class HellaSwag
{
    public static MultipleChoiceTask Task(string path) => new("hellaswag", () => Docs(path), [McMetric.Acc, McMetric.AccNorm])
    {
        Definition = new Dictionary<string, object?> { ["dataset_path"] = path },
    };

    public static IReadOnlyList<McDoc> Docs(string path)
    {
        var lines = ReadLines(path);
        if (lines.Count % 6 != 0) throw new InvalidDataException($"{path}: {lines.Count} lines is not 6 per item");
        var docs = new List<McDoc>(lines.Count / 6);
        for (int i = 0; i < lines.Count; i += 6)
        {
            if (!int.TryParse(lines[i + 1], out int gold) || gold is < 0 or > 3)
                throw new InvalidDataException($"{path}:{i + 2}: label '{lines[i + 1]}' is not 0..3");
            docs.Add(new McDoc(Preprocess(CapitalizeCtxB(lines[i])), lines.Skip(i + 2).Take(4).Select(Preprocess).ToList(), gold));
        }
        return docs;
    }

    static List<string> ReadLines(string path)
    {
        using var file = File.OpenRead(path);
        using Stream text = path.EndsWith(".bz2", StringComparison.OrdinalIgnoreCase) ? new ICSharpCode.SharpZipLib.BZip2.BZip2InputStream(file) : file;
        using var reader = new StreamReader(text, Encoding.UTF8);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>The harness's preprocess: strip, " [title]" to ". ", drop [bracketed] markers, "  " to " ".</summary>
    public static string Preprocess(string text)
    {
        text = text.Trim();
        text = text.Replace(" [title]", ". ");
        text = Brackets().Replace(text, "");
        return text.Replace("  ", " ");
    }

    /// <summary>Python's str.capitalize of the ctx_b part (first letter upper, the rest lower).</summary>
    public static string CapitalizeCtxB(string ctx)
    {
        int cut = ctx.LastIndexOf(". ", StringComparison.Ordinal);
        int start = cut < 0 ? ctx.IndexOf(": ", StringComparison.Ordinal) + 2 : cut + 2;
        if (start <= 1 || start >= ctx.Length || !char.IsLower(ctx[start])) return ctx;
        string b = ctx[start..];
        return ctx[..start] + char.ToUpperInvariant(b[0]) + b[1..].ToLowerInvariant();
    }

    [GeneratedRegex(@"\[.*?\]")]
    private static partial Regex Brackets();
}
