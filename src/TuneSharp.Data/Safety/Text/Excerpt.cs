using System.Text;

namespace TuneSharp.Data.Safety;

/// <summary>Short one-line excerpts for findings, with every secret in them masked.</summary>
public static class Excerpt
{
    public const int Width = 100;
    static readonly SecretDetector Secrets = new();

    /// <summary>About <see cref="Width"/> characters of <paramref name="text"/> around [start, start+length), on one line, with
    /// "…" where it was cut; every secret found in the whole text keeps its first four characters, the rest is <c>*</c>.</summary>
    public static string Around(string text, int start, int length)
    {
        int context = Math.Max(10, (Width - Math.Min(length, Width)) / 2);
        int from = Math.Max(0, start - context), to = Math.Min(text.Length, Math.Max(start + Math.Min(length, Width), from + Width));
        var secrets = Secrets.Find(text);
        var sb = new StringBuilder();
        if (from > 0) sb.Append('…');
        for (int i = from; i < to; i++)
        {
            bool masked = secrets.Any(s => i >= s.Start + 4 && i < s.End);
            char c = text[i];
            sb.Append(masked ? '*' : c is '\n' or '\r' or '\t' ? ' ' : c);
        }
        if (to < text.Length) sb.Append('…');
        return sb.ToString();
    }

    /// <summary>The beginning of <paramref name="text"/>.</summary>
    public static string Start(string text) => Around(text, 0, 0);
}
