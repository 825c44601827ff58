using TuneSharp.Data.Batching;
using TuneSharp.Data.Templates;
using TuneSharp.Tokenizers;

namespace TuneSharp.Data.Encoding;

/// <summary>
/// Turns normalized examples into token ids with per-token label flags (see docs/data-pipeline.md). Chats are rendered
/// with the chat template exactly as HF apply_chat_template(tokenize=False) and tokenized without added special tokens
/// (the template writes BOS itself); completions and texts get BOS by the tokenizer's rules. Thread-safe.
/// </summary>
public sealed class ExampleEncoder
{
    readonly ChatRenderer renderer;

    /// <param name="templateVariables">Extra template variables (e.g. <c>enable_thinking</c>), as apply_chat_template's kwargs.</param>
    public ExampleEncoder(HfTokenizer tokenizer, ChatTemplate template, EncodingSettings settings,
        IReadOnlyDictionary<string, object?>? templateVariables = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        if (settings.MaxSeqLen < 2) throw new ArgumentOutOfRangeException(nameof(settings), settings.MaxSeqLen, "MaxSeqLen must be >= 2");
        Tokenizer = tokenizer;
        Template = template;
        Settings = settings;
        TemplateVariables = templateVariables;
        renderer = ChatRenderer.For(tokenizer, template, templateVariables);
    }

    public HfTokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public EncodingSettings Settings { get; }
    public IReadOnlyDictionary<string, object?>? TemplateVariables { get; }
    /// <summary>The end-of-turn marker inferred from the template (trained as the last token of each assistant turn).</summary>
    public string? EndOfTurn => renderer.EndOfTurn;
    /// <summary>The renderer used for chats (exposes the rendered text and assistant spans).</summary>
    public ChatRenderer Renderer => renderer;

    /// <summary>Encodes one example; never throws for bad data (returns a Problem with the reason).</summary>
    public EncodeResult Encode(Example example)
    {
        ArgumentNullException.ThrowIfNull(example);
        try
        {
            return example switch
            {
                ChatExample chat => EncodeChat(chat),
                CompletionExample c => EncodeCompletion(c),
                TextExample t => Finish(t.Source, WithEos(Tokenizer.Encode(t.Text, addSpecialTokens: true)), null),
                _ => EncodeResult.Problem(example.Source, $"{example.GetType().Name} is not supported by the SFT encoder"),
            };
        }
        catch (Exception e) when (e is TemplateRaisedException or TemplateRuntimeException)
        {
            return EncodeResult.Problem(example.Source, $"chat template: {e.Message}");
        }
    }

    EncodeResult EncodeChat(ChatExample chat)
    {
        var messages = chat.Messages;
        if (messages.Count == 0) return EncodeResult.Problem(chat.Source, "conversation has no messages");
        var rendering = renderer.RenderWithSpans(messages, chat.Tools);
        var enc = Tokenizer.EncodeWithOffsets(rendering.Text, addSpecialTokens: false);
        var trained = new bool[enc.Ids.Length];

        int lastAssistant = -1;
        for (int i = 0; i < messages.Count; i++) if (messages[i].Role == "assistant") lastAssistant = i;
        var spanOf = rendering.Assistant.ToDictionary(s => s.MessageIndex);
        if (Settings.TrainOn == TrainOn.All) Array.Fill(trained, true);
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != "assistant") continue;
            bool train = messages[i].Weight switch
            {
                0 => false,
                > 0 => true,
                _ => Settings.TrainOn != TrainOn.LastAssistant || i == lastAssistant,
            };
            if (Settings.TrainOn == TrainOn.All && train) continue;  // already trained
            if (!spanOf.TryGetValue(i, out var span))
            {
                if (!train && Settings.TrainOn != TrainOn.All) continue;
                return EncodeResult.Problem(chat.Source, $"assistant message {i} was not found in the rendered conversation");
            }
            Mark(enc, trained, span.Start, span.End, train);
        }
        return Finish(chat.Source, enc.Ids, trained);
    }

    /// <summary>Sets the flag of every token overlapping characters [start, end).</summary>
    static void Mark(TokenOffsets enc, bool[] trained, int start, int end, bool value)
    {
        for (int t = 0; t < enc.Ids.Length; t++)
            if (enc.Starts[t] < end && enc.Ends[t] > start) trained[t] = value;
    }

    EncodeResult EncodeCompletion(CompletionExample c)
    {
        // Tokenized as one text (so the boundary tokenizes as it would at inference); tokens touching the completion
        // are trained, BOS/EOS by the tokenizer's rules, then our EOS.
        var enc = Tokenizer.EncodeWithOffsets(c.Prompt + c.Completion, addSpecialTokens: true);
        var trained = new bool[enc.Ids.Length];
        Mark(enc, trained, c.Prompt.Length, int.MaxValue, true);
        var ids = WithEos(enc.Ids);
        if (ids.Length > trained.Length) trained = [.. trained, true];
        return Finish(c.Source, ids, trained);
    }

    /// <summary>Appends EOS when <see cref="EncodingSettings.AddEosToText"/> and the tokenizer did not add it.</summary>
    int[] WithEos(int[] ids) =>
        Settings.AddEosToText && Tokenizer.EosTokenId is int eos && !Tokenizer.AddEosToken ? [.. ids, eos] : ids;

    /// <summary>Applies MaxSeqLen (truncate or drop); a null <paramref name="trained"/> trains every token.</summary>
    EncodeResult Finish(SourceLocation source, int[] ids, bool[]? trained)
    {
        trained ??= Enumerable.Repeat(true, ids.Length).ToArray();
        int full = ids.Length, max = Settings.MaxSeqLen;
        var status = EncodeStatus.Encoded;
        if (full > max)
        {
            if (Settings.Truncation == Truncation.Drop)
                return new EncodeResult(EncodeStatus.Dropped, null, source, $"{full} tokens > max_seq_len {max}", full);
            ids = ids[..max];
            trained = trained[..max];
            status = EncodeStatus.Truncated;
        }
        var sample = new TokenizedSample(ids, trained, source);
        if (sample.TrainedCount == 0)
            return new EncodeResult(EncodeStatus.Dropped, null, source,
                status == EncodeStatus.Truncated ? $"no trained token within the first {max} tokens" : "no trained token", full);
        return new EncodeResult(status, sample, source, status == EncodeStatus.Truncated ? $"truncated from {full} tokens" : null, full);
    }

    /// <summary>
    /// Continued pretraining: each document tokenized (BOS by the tokenizer's rules) and followed by EOS, all concatenated
    /// and cut into windows of MaxSeqLen tokens, every token trained; the last window may be shorter. Streams: documents
    /// are tokenized in parallel, in order, a block at a time.
    /// </summary>
    public IEnumerable<TokenizedSample> EncodePretraining(IEnumerable<TextExample> documents, int? maxDegreeOfParallelism = null)
    {
        int max = Settings.MaxSeqLen;
        var buffer = new List<int>(max * 2);
        SourceLocation? windowSource = null;
        var tokenized = OrderedParallel.Map(documents, d => (d.Source, Ids: DocumentIds(d.Text)), maxDegreeOfParallelism);
        foreach (var (source, ids) in tokenized)
        {
            windowSource ??= source;
            int taken = 0;
            while (taken < ids.Length)
            {
                int n = Math.Min(max - buffer.Count, ids.Length - taken);
                buffer.AddRange(ids.AsSpan(taken, n));
                taken += n;
                if (buffer.Count == max)
                {
                    yield return Window(buffer, windowSource);
                    buffer.Clear();
                    windowSource = taken < ids.Length ? source : null;
                }
            }
        }
        if (buffer.Count >= 2) yield return Window(buffer, windowSource);
    }

    int[] DocumentIds(string text)
    {
        var ids = Tokenizer.Encode(text, addSpecialTokens: true);
        return Tokenizer.EosTokenId is int eos && !Tokenizer.AddEosToken ? [.. ids, eos] : ids;
    }

    static TokenizedSample Window(List<int> ids, SourceLocation? source) =>
        new(ids.ToArray(), Enumerable.Repeat(true, ids.Count).ToArray(), source);
}
