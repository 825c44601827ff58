using System.Globalization;
using System.Text;
using TuneSharp.Data;
using TuneSharp.Data.Batching;
using TuneSharp.Data.Encoding;
using TuneSharp.Tokenizers;

namespace TuneSharp.Cli.Commands.Data;

/// <summary>
/// Prints encoded samples with the trained tokens marked: green/bold (prompt dim) with color, otherwise between
/// <see cref="Open"/> and <see cref="Close"/>.
/// </summary>
public static class PreviewPrinter
{
    public const string Open = "[[", Close = "]]";

    /// <summary>Header once, then one block per example: location, token counts, the marked text, optionally a token table.</summary>
    public static void Write(TextWriter w, Style style, ExampleEncoder encoder, string templateDescription,
        IReadOnlyList<Example> examples, bool tokenTable)
    {
        w.WriteLine($"template: {templateDescription}");
        w.WriteLine($"train on: {DataInputs.Name(encoder.Settings.TrainOn)}, max_seq_len {encoder.Settings.MaxSeqLen}, " +
            $"end of turn: {encoder.EndOfTurn ?? "(none; a turn ends with the template's text)"}");
        w.WriteLine(style.Color
            ? $"legend: {style.Trained("trained tokens")} {style.Dim("prompt tokens (no loss)")}"
            : $"legend: trained tokens are between {Open} and {Close}; everything else is prompt (no loss)");
        for (int i = 0; i < examples.Count; i++)
        {
            var result = encoder.Encode(DataInputs.ForEncoding(examples[i]));
            w.WriteLine();
            w.WriteLine(style.Bold($"--- sample {i + 1}  {examples[i].Source}  {Kind(examples[i])}"));
            if (result.Sample is not { } sample)
            {
                w.WriteLine(style.Red($"{result.Status.ToString().ToLowerInvariant()}: {result.Reason}"));
                continue;
            }
            int trained = sample.TrainedCount;
            string truncated = result.Status == EncodeStatus.Truncated ? $", truncated from {result.FullLength}" : "";
            w.WriteLine(style.Dim($"tokens {sample.Length} (prompt {sample.Length - trained}, trained {trained}{truncated})"));
            w.WriteLine(Marked(encoder.Tokenizer, sample, style).TrimEnd('\n'));
            if (tokenTable) WriteTokens(w, style, encoder.Tokenizer, sample);
        }
    }

    /// <summary>
    /// The decoded sample with runs of trained tokens marked. A run's text is the decoding of the ids up to its end minus
    /// the decoding up to its start, so decoders that look at neighbours (leading-space strip, byte fallback) stay exact.
    /// </summary>
    public static string Marked(HfTokenizer tokenizer, TokenizedSample sample, Style style)
    {
        var sb = new StringBuilder();
        string before = "";
        for (int start = 0; start < sample.Length;)
        {
            bool trained = sample.Trained[start];
            int end = start;
            while (end < sample.Length && sample.Trained[end] == trained) end++;
            string upTo = tokenizer.Decode(sample.InputIds[..end]);
            // A boundary inside a multi-byte character decodes to U+FFFD: keep only the common part.
            int common = before.AsSpan().CommonPrefixLength(upTo);
            string text = upTo[common..];
            sb.Append(style.Color ? (trained ? style.Trained(text) : style.Dim(text)) : trained && text.Length > 0 ? Open + text + Close : text);
            before = upTo;
            start = end;
        }
        return sb.ToString();
    }

    static void WriteTokens(TextWriter w, Style style, HfTokenizer tokenizer, TokenizedSample sample)
    {
        int wId = Math.Max(2, sample.InputIds.Max().ToString(CultureInfo.InvariantCulture).Length);
        int wPos = Math.Max(3, (sample.Length - 1).ToString(CultureInfo.InvariantCulture).Length);
        w.WriteLine(style.Dim($"{"pos".PadLeft(wPos)}  {"id".PadLeft(wId)}  trained  token"));
        for (int t = 0; t < sample.Length; t++)
        {
            int id = sample.InputIds[t];
            string token = Escape(tokenizer.IdToToken(id) ?? "?");
            string line = $"{t.ToString(CultureInfo.InvariantCulture).PadLeft(wPos)}  {id.ToString(CultureInfo.InvariantCulture).PadLeft(wId)}  " +
                $"{(sample.Trained[t] ? "yes" : "-"),-7}  {token}";
            w.WriteLine(sample.Trained[t] ? style.Trained(line) : line);
        }
    }

    /// <summary>Control characters as escapes, so every token stays on one line.</summary>
    static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return sb.ToString();
    }

    static string Kind(Example e) => e switch
    {
        ChatExample => "chat",
        CompletionExample => "completion",
        TextExample => "text",
        PreferenceExample => "preference (chosen side)",
        KtoExample => "kto",
        _ => e.GetType().Name,
    };
}
