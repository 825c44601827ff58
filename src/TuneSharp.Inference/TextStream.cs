using TuneSharp.Tokenizers;

namespace TuneSharp.Inference;

/// <summary>
/// The text of one generated sequence, token by token: ids through the tokenizer's streaming decoder, cut at the first
/// stop string. Text that could be the start of a stop string is held back until it is known not to be one.
/// </summary>
public sealed class TextStream
{
    readonly StreamingDecoder _decoder;
    readonly string[] _stops;
    readonly int _holdBack;
    readonly System.Text.StringBuilder _text = new();
    int _emitted;

    public TextStream(HfTokenizer tokenizer, IReadOnlyList<string> stopStrings)
    {
        _decoder = tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
        _stops = stopStrings.Where(s => s.Length > 0).ToArray();
        _holdBack = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length) - 1;
    }

    /// <summary>A stop string was found: the text ends before it and nothing more is emitted.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a generated token; returns the text that is now safe to emit (may be empty).</summary>
    public string Push(int token)
    {
        if (Stopped) throw new InvalidOperationException("the text already ended at a stop string");
        _text.Append(_decoder.Push(token));
        string all = _text.ToString();
        int cut = FirstStop(all, Math.Max(0, _emitted - _holdBack));
        if (cut >= 0)
        {
            Stopped = true;
            return Take(all, cut);
        }
        return Take(all, all.Length - _holdBack);
    }

    /// <summary>The sequence ended (stop token or max tokens): the rest of the text, up to a stop string if one completes.</summary>
    public string Finish()
    {
        if (Stopped) return "";
        _text.Append(_decoder.Flush());
        string rest = _text.ToString();
        int end = FirstStop(rest, Math.Max(0, _emitted - _holdBack));
        if (end >= 0) Stopped = true;
        return Take(rest, end >= 0 ? end : rest.Length);
    }

    string Take(string all, int upTo)
    {
        if (upTo <= _emitted) return "";
        string piece = all[_emitted..upTo];
        _emitted = upTo;
        return piece;
    }

    int FirstStop(string text, int from)
    {
        int best = -1;
        foreach (var s in _stops)
        {
            int i = text.IndexOf(s, from, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }
}
