using TuneSharp.Models;
using TuneSharp.Models.Common;
using TuneSharp.Tokenizers;
using static TorchSharp.torch;

namespace TuneSharp.Inference;

/// <summary>Whoever submitted a sequence to a <see cref="ContinuousBatch"/>: gets its text and its end.</summary>
public interface ISequenceSink
{
    /// <summary>The submitter gave up (e.g. the client disconnected): the sequence leaves the batch before the next step.</summary>
    bool Cancelled { get; }
    void Text(string piece);
    /// <summary>"stop" (stop token or string) or "length"; <paramref name="completionTokens"/> = tokens generated.</summary>
    void Finished(string finishReason, int completionTokens);
}

/// <summary>
/// Continuous batching: sequences join the running decode batch between steps and leave it when they finish or are
/// cancelled, each with its own sampling settings (temperature, top-p/k, seed, ...), stop tokens, stop strings and
/// max_tokens. A newcomer is prefilled alone (as <see cref="Generator"/> does for one prompt) and its cache copied into a
/// free slot of a <see cref="SlotKvCache"/>; then one forward per step decodes one token for every sequence, each row at
/// its own position, masked to its own keys. Greedy output equals what <see cref="TextGenerator"/> produces for the
/// prompt alone. Single-threaded: one tensor worker owns it.
/// </summary>
public sealed class ContinuousBatch : IDisposable
{
    readonly CausalLM _model;
    readonly HfTokenizer _tokenizer;
    readonly SlotKvCache _cache;
    readonly List<Sequence> _rows = []; // row r lives in cache slot r

    /// <param name="slots">Most sequences decoded together.</param>
    /// <param name="maxLength">Most positions (prompt + generated) of one sequence.</param>
    public ContinuousBatch(CausalLM model, HfTokenizer tokenizer, int slots, int maxLength)
    {
        _model = model;
        _tokenizer = tokenizer;
        _cache = new SlotKvCache(model.Args, slots, maxLength, model.DType, model.LmHeadWeight.device);
    }

    public int Count => _rows.Count;
    public bool HasRoom => _rows.Count < _cache.Slots;

    /// <summary>Prefills <paramref name="prompt"/> alone, samples its first token and, unless that ends it, gives it a slot.</summary>
    public void Add(int[] prompt, SamplingOptions options, ISequenceSink sink)
    {
        if (!HasRoom) throw new InvalidOperationException($"the batch is full ({_cache.Slots} sequences)");
        if (prompt.Length == 0) throw new ArgumentException("the prompt needs at least one token (e.g. BOS)", nameof(prompt));
        int vocab = _model.Args.VocabSize;
        foreach (int id in prompt)
            if ((uint)id >= (uint)vocab) throw new ArgumentException($"prompt token id {id} is outside the vocabulary (0..{vocab - 1})");
        if (prompt.Length + options.MaxNewTokens > _cache.MaxLength)
            throw new ArgumentException($"prompt ({prompt.Length}) + max new tokens ({options.MaxNewTokens}) exceed {_cache.MaxLength} positions");
        var sequence = new Sequence(prompt, options, sink, new TextStream(_tokenizer, options.StopStrings));
        if (options.MaxNewTokens == 0)
        {
            sequence.End("length");
            return;
        }
        using var prefill = _model.NewCache(1, prompt.Length);
        int first;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            int n = prompt.Length;
            var device = _model.LmHeadWeight.device;
            var input = tensor(prompt.Select(x => (long)x).ToArray(), [1, n], device: device);
            var positions = arange(n, dtype: ScalarType.Int64, device: device).unsqueeze(0);    // [1, T]
            var keyPadding = ones(1, n, dtype: ScalarType.Int64, device: device);              // [1, T]: as Generator's prefill
            var hidden = _model.Hidden(input, positions, keyPadding, cache: prefill);
            var last = _model.Logits(hidden[.., -1]).to(ScalarType.Float32); // [1, V]
            first = sequence.Sample(last.cpu().data<float>().ToArray());
        }
        if (sequence.Accept(first))
        {
            _cache.Add(prefill);
            _rows.Add(sequence);
        }
    }

    /// <summary>Removes the sequences whose sink was cancelled; returns their sinks.</summary>
    public List<ISequenceSink> DropCancelled()
    {
        var dropped = new List<ISequenceSink>();
        for (int r = _rows.Count - 1; r >= 0; r--)
            if (_rows[r].Sink.Cancelled)
            {
                dropped.Add(_rows[r].Sink);
                RemoveRow(r);
            }
        return dropped;
    }

    /// <summary>Removes every sequence (after a failed step); returns their sinks.</summary>
    public List<ISequenceSink> Clear()
    {
        var all = _rows.Select(r => r.Sink).ToList();
        while (_rows.Count > 0) RemoveRow(_rows.Count - 1);
        return all;
    }

    /// <summary>One decode step: one new token for every sequence; finished sequences leave the batch.</summary>
    public void Step()
    {
        if (_rows.Count == 0) return;
        int rows = _rows.Count, vocab;
        float[] all;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var ids = new long[rows];
            var positions = new long[rows];
            for (int r = 0; r < rows; r++)
            {
                ids[r] = _rows[r].Last;
                positions[r] = _cache.LengthOf(r); // positions start at 0 with the prompt: the next one is the length
            }
            var keyPadding = _cache.KeyPadding(); // [B, S]: each row sees its own keys only
            var device = _model.LmHeadWeight.device;
            var logits = _model.Forward(tensor(ids, [rows, 1], device: device), tensor(positions, [rows, 1], device: device), keyPadding, cache: _cache);
            var last = logits[.., -1].to(ScalarType.Float32).cpu().contiguous(); // [B, V], on the host for sampling
            vocab = (int)last.shape[1];
            all = last.data<float>().ToArray();
        }
        var finished = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            var row = new float[vocab];
            Array.Copy(all, r * vocab, row, 0, vocab);
            if (!_rows[r].Accept(_rows[r].Sample(row))) finished.Add(r);
        }
        for (int i = finished.Count - 1; i >= 0; i--) RemoveRow(finished[i]); // descending: moved rows are unfinished ones
    }

    void RemoveRow(int r)
    {
        int moved = _cache.Remove(r);
        if (moved >= 0) _rows[r] = _rows[moved];
        _rows.RemoveAt(_rows.Count - 1);
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>One sequence's sampling state, text and stop rules (the same rules as <see cref="Generator"/> + <see cref="TextGenerator"/>).</summary>
    sealed class Sequence(int[] prompt, SamplingOptions options, ISequenceSink sink, TextStream text)
    {
        readonly Sampler _sampler = new(options);
        readonly HashSet<int> _seen = [.. prompt];
        readonly IReadOnlySet<int> _stops = options.StopTokenIds as IReadOnlySet<int> ?? options.StopTokenIds.ToHashSet();
        int _produced;

        public ISequenceSink Sink => sink;
        /// <summary>The last accepted token: the next step's input.</summary>
        public int Last { get; private set; }

        public int Sample(float[] logits) => _sampler.Next(logits, _seen);

        /// <summary>Takes the sampled token; false when the sequence has ended (its sink is told).</summary>
        public bool Accept(int token)
        {
            if (_stops.Contains(token))
            {
                End("stop");
                return false;
            }
            _seen.Add(token);
            _produced++;
            Last = token;
            string piece = text.Push(token);
            if (piece.Length > 0) sink.Text(piece);
            if (text.Stopped)
            {
                sink.Finished("stop", _produced);
                return false;
            }
            if (_produced >= options.MaxNewTokens)
            {
                End("length");
                return false;
            }
            return true;
        }

        /// <summary>Flushes the text (a stop string completed by the flush makes it "stop") and tells the sink.</summary>
        public void End(string reason)
        {
            string rest = text.Finish();
            if (rest.Length > 0) sink.Text(rest);
            sink.Finished(text.Stopped ? "stop" : reason, _produced);
        }
    }
}
