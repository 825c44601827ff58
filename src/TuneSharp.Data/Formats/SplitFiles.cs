using System.Text.RegularExpressions;

namespace TuneSharp.Data;

/// <summary>
/// Which files of a folder dataset belong to a split, by the file-name rules of Hugging Face <c>datasets</c>
/// (<c>data_files.py</c>): the split's keyword is a whole word of the file name or of a folder name below the dataset
/// folder, words being separated by <c>-._ </c> or digits (<c>train.jsonl</c>, <c>data/train-00000-of-00002.parquet</c>,
/// <c>my_train.jsonl</c>, <c>train/part1.jsonl</c>). The standard splits also answer to HF's aliases (validation: valid,
/// dev, val; test: testing, eval, evaluation; train: training).
/// </summary>
public static class SplitFiles
{
    static readonly Dictionary<string, string[]> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["train"] = ["train", "training"],
        ["validation"] = ["validation", "valid", "dev", "val"],
        ["test"] = ["test", "testing", "eval", "evaluation"],
    };

    /// <summary>The files under <paramref name="root"/> (paths below it) that belong to <paramref name="split"/>.</summary>
    public static IEnumerable<string> Select(string root, IEnumerable<string> files, string split)
    {
        string[] keywords = Aliases.TryGetValue(split, out var a) ? a : [split];
        var word = new Regex($"^(?:.*[-._ 0-9])?(?:{string.Join('|', keywords.Select(Regex.Escape))})(?:[-._ 0-9].*)?$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        return files.Where(f => Path.GetRelativePath(root, f).Split('/', '\\').Any(word.IsMatch));
    }
}
