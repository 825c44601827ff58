namespace TuneSharp.Tokenizers;

/// <summary>
/// Decodes ids one at a time. The concatenation of all Push results and Flush equals HfTokenizer.Decode of the same ids:
/// text is held back while it may still change (an incomplete UTF-8 sequence, an open byte-fallback run, text whose
/// leading space the SentencePiece Strip rule has yet to see, or a space that clean-up could still remove).
/// </summary>
public sealed class StreamingDecoder
{
    readonly HfTokenizer tokenizer;
    readonly bool skipSpecialTokens;
    readonly List<int> pending = [];                 // ids not yet decoded into stable raw text
    readonly System.Text.StringBuilder rawTail = new();  // raw decoded text not yet emitted (clean-up pending)
    bool started;                                    // some raw text was committed: later windows continue it

    internal StreamingDecoder(HfTokenizer tokenizer, bool skipSpecialTokens)
    {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the newly completed text (possibly empty).</summary>
    public string Push(int id)
    {
        pending.Add(id);
        var tokens = tokenizer.TokensOf(pending, skipSpecialTokens);
        string text = tokenizer.DecodeRaw(tokens, started);
        // Hold the window while it decodes to nothing (Strip has not seen its text yet) or may still change.
        if (text.Length == 0 || text[^1] == '\uFFFD' || tokenizer.Decoder?.EndsOpen(tokens) == true) return "";
        pending.Clear();
        started = true;
        rawTail.Append(text);
        return Emit(final: false);
    }

    /// <summary>Returns all remaining text, decoding any held-back ids as they are.</summary>
    public string Flush()
    {
        if (pending.Count > 0)
        {
            rawTail.Append(tokenizer.DecodeRaw(tokenizer.TokensOf(pending, skipSpecialTokens), started));
            started |= rawTail.Length > 0;
            pending.Clear();
        }
        return Emit(final: true);
    }

    string Emit(bool final)
    {
        if (!tokenizer.CleanUpTokenizationSpaces)
        {
            string all = rawTail.ToString();
            rawTail.Clear();
            return all;
        }
        // Clean-up only removes a space before one of these chars; text up to a char outside the set is final.
        int cut = rawTail.Length;
        if (!final)
            while (cut > 0 && " .?!,'ntmsver".Contains(rawTail[cut - 1])) cut--;
        string stable = rawTail.ToString(0, cut);
        rawTail.Remove(0, cut);
        return HfTokenizer.CleanUp(stable);
    }
}
