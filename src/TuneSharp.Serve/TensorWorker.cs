using System.Threading.Channels;
using TuneSharp.Inference;

namespace TuneSharp.Serve;

/// <summary>One generation to run: the adapter (null = base), the prompt ids and the sampling options.</summary>
public sealed record GenerationRequest(string? Adapter, int[] PromptIds, SamplingOptions Options);

/// <summary>How a generation ended: "stop" or "length", and the token counts for usage.</summary>
public sealed record GenerationResult(string FinishReason, int PromptTokens, int CompletionTokens);

/// <summary>A queued generation: text pieces stream through <see cref="Pieces"/>, then <see cref="Result"/> completes.</summary>
public sealed class GenerationJob : ISequenceSink
{
    readonly Channel<string> _pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly TaskCompletionSource<GenerationResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource _stop = new();
    readonly CancellationTokenRegistration _client;
    Exception? _abortReason;

    internal GenerationJob(GenerationRequest request, CancellationToken client)
    {
        Request = request;
        _client = client.Register(() => Abort(null));
    }

    public GenerationRequest Request { get; }
    /// <summary>Cancelled when the client goes away or the server aborts the job: the worker stops at the next token.</summary>
    public CancellationToken Cancellation => _stop.Token;

    /// <summary>Stops the job; it fails with <paramref name="reason"/> (null: an OperationCanceledException, the client left).</summary>
    internal void Abort(Exception? reason)
    {
        if (reason != null) Interlocked.CompareExchange(ref _abortReason, reason, null);
        _stop.Cancel();
    }

    /// <summary>What a job stopped by <see cref="Cancellation"/> fails with.</summary>
    internal Exception StopReason => Volatile.Read(ref _abortReason) ?? new OperationCanceledException(_stop.Token);
    /// <summary>Text pieces in order; completes when generation ends (faulted if it failed).</summary>
    public ChannelReader<string> Pieces => _pieces.Reader;
    public Task<GenerationResult> Result => _result.Task;

    internal bool TryWrite(string piece) => _pieces.Writer.TryWrite(piece);

    bool ISequenceSink.Cancelled => _stop.IsCancellationRequested;
    void ISequenceSink.Text(string piece) => TryWrite(piece);
    void ISequenceSink.Finished(string finishReason, int completionTokens) =>
        Complete(new GenerationResult(finishReason, Request.PromptIds.Length, completionTokens));

    internal void Complete(GenerationResult result)
    {
        _client.Dispose();
        _pieces.Writer.TryComplete();
        _result.TrySetResult(result);
    }

    internal void Fail(Exception e)
    {
        _client.Dispose();
        _pieces.Writer.TryComplete(e);
        _result.TrySetException(e);
        _ = _result.Task.Exception; // observed: a reader that stops early must not cause an unobserved-task report
    }
}

/// <summary>
/// The one thread that owns the model and does all tensor work. Web threads only enqueue work and read the
/// per-job channels; nothing they run touches a tensor. Jobs are admitted in arrival order into one
/// <see cref="ContinuousBatch"/> of at most <c>maxBatchSize</c> sequences: between decode steps finished and cancelled
/// jobs leave and waiting ones join. All sequences of a batch use one adapter (or the base): a job for another adapter
/// waits until the running batch has drained.
/// </summary>
public sealed class TensorWorker : IDisposable
{
    readonly Channel<Action<ServedModel>> _queue = Channel.CreateUnbounded<Action<ServedModel>>(new UnboundedChannelOptions { SingleReader = true });
    readonly TaskCompletionSource<ServedModel> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Thread _thread;
    readonly int _maxBatchSize;
    readonly int? _maxModelLength;
    readonly Queue<GenerationJob> _pending = new(); // worker thread only

    TensorWorker(Func<ServedModel> load, int maxBatchSize, int? maxModelLength)
    {
        if (maxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "must be >= 1");
        if (maxModelLength < 1) throw new ArgumentOutOfRangeException(nameof(maxModelLength), maxModelLength, "must be >= 1");
        _maxBatchSize = maxBatchSize;
        _maxModelLength = maxModelLength;
        _thread = new Thread(() => Run(load)) { IsBackground = true, Name = "tunesharp-tensor-worker" };
        // The worker outlives whoever started it: it must not carry that caller's async-local state.
        using (ExecutionContext.SuppressFlow()) _thread.Start();
    }

    /// <summary>
    /// Starts the worker thread, which loads the model with <paramref name="load"/>; completes when it is loaded.
    /// <paramref name="maxBatchSize"/>: most requests decoded together (1 = one at a time). <paramref name="maxModelLength"/>:
    /// most positions (prompt + completion) of one request, at most the model's max_position_embeddings (null:
    /// <see cref="DefaultMaxModelLength"/> at most); the KV cache holds this many positions per batch slot.
    /// </summary>
    public static async Task<TensorWorker> StartAsync(Func<ServedModel> load, int maxBatchSize = 8, int? maxModelLength = null)
    {
        var worker = new TensorWorker(load, maxBatchSize, maxModelLength);
        try
        {
            await worker._ready.Task;
        }
        catch
        {
            worker.Dispose();
            throw;
        }
        return worker;
    }

    /// <summary>The default cap on a request's positions: bounds the KV cache of models with long contexts.</summary>
    public const int DefaultMaxModelLength = 4096;

    /// <summary>Facts about the model that web threads may read (no tensors).</summary>
    public ModelInfo Info { get; private set; } = null!;

    /// <summary>Raised (on the cancelling thread) when a queued or running job's token is cancelled.</summary>
    public event Action<GenerationJob>? JobCancelled;

    /// <summary>Jobs the worker abandoned because they were cancelled (before or during generation).</summary>
    public int CancelledJobs => Volatile.Read(ref _cancelledJobs);

    int _cancelledJobs;

    readonly System.Collections.Concurrent.ConcurrentDictionary<GenerationJob, byte> _live = new();
    Func<Exception>? _abortReason;

    /// <summary>Jobs queued or generating.</summary>
    public int LiveJobs => _live.Count;

    /// <summary>Queues a generation.</summary>
    public GenerationJob Enqueue(GenerationRequest request, CancellationToken cancellation)
    {
        var job = new GenerationJob(request, cancellation);
        job.Cancellation.Register(() => JobCancelled?.Invoke(job));
        _live[job] = 0;
        _ = job.Result.ContinueWith(_ => _live.TryRemove(job, out byte _), TaskScheduler.Default);
        if (Volatile.Read(ref _abortReason) is { } reason) job.Abort(reason());
        if (!_queue.Writer.TryWrite(_ => Admit(job)))
            job.Fail(new ObjectDisposedException(nameof(TensorWorker), "the server is shutting down"));
        return job;
    }

    /// <summary>Stops every queued or running job, and every job queued from now on, with <paramref name="reason"/>.</summary>
    public void AbortAll(Func<Exception> reason)
    {
        Volatile.Write(ref _abortReason, reason);
        foreach (var job in _live.Keys) job.Abort(reason());
    }

    /// <summary>Runs <paramref name="work"/> on the worker thread (tests, diagnostics) and returns its result.</summary>
    public Task<T> InvokeAsync<T>(Func<ServedModel, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool queued = _queue.Writer.TryWrite(model =>
        {
            try { done.SetResult(work(model)); }
            catch (Exception e) { done.SetException(e); }
        });
        if (!queued) done.SetException(new ObjectDisposedException(nameof(TensorWorker)));
        return done.Task;
    }

    /// <summary>Stops taking work, lets queued work finish, and frees the model on the worker thread.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (Thread.CurrentThread != _thread) _thread.Join();
    }

    void Run(Func<ServedModel> load)
    {
        ServedModel? model = null;
        ContinuousBatch batch;
        try
        {
            model = load();
            Info = new ModelInfo(model, Math.Min(model.Model.Args.MaxPositionEmbeddings, _maxModelLength ?? DefaultMaxModelLength));
            batch = new ContinuousBatch(model.Model, model.Tokenizer, _maxBatchSize, Info.ContextLength); // the KV cache slots
        }
        catch (Exception e)
        {
            model?.Dispose();
            _queue.Writer.TryComplete();
            _ready.SetException(e);
            return;
        }
        using (model)
        using (batch)
        {
            _ready.SetResult(model);
            var reader = _queue.Reader;
            // A dedicated thread: blocking on the queue when idle is the point (no thread-pool thread is held).
            while (batch.Count > 0 || _pending.Count > 0 || reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var work)) work(model);
                foreach (var sink in batch.DropCancelled()) Cancelled((GenerationJob)sink);
                Join(model, batch);
                try
                {
                    batch.Step();
                }
                catch (Exception e)
                {
                    foreach (var sink in batch.Clear()) ((GenerationJob)sink).Fail(e);
                }
            }
        }
    }

    /// <summary>A new job, on the worker thread: waits for a slot (a job cancelled while queued ends here).</summary>
    void Admit(GenerationJob job)
    {
        if (job.Cancellation.IsCancellationRequested) Cancelled(job);
        else _pending.Enqueue(job);
    }

    /// <summary>Moves waiting jobs into the batch while it has room, in arrival order; the base or one adapter per batch.</summary>
    void Join(ServedModel model, ContinuousBatch batch)
    {
        while (_pending.Count > 0 && batch.HasRoom)
        {
            var job = _pending.Peek();
            if (job.Cancellation.IsCancellationRequested)
            {
                Cancelled(_pending.Dequeue());
                continue;
            }
            if (batch.Count > 0 && job.Request.Adapter != model.ActiveAdapter) return; // the running batch drains first
            _pending.Dequeue();
            try
            {
                model.Activate(job.Request.Adapter);
                batch.Add(job.Request.PromptIds, job.Request.Options, job);
            }
            catch (Exception e)
            {
                job.Fail(e);
            }
        }
    }

    void Cancelled(GenerationJob job)
    {
        Interlocked.Increment(ref _cancelledJobs);
        job.Fail(job.StopReason);
    }
}

/// <summary>What web threads need to know about the served model, read once on the worker thread.</summary>
public sealed class ModelInfo
{
    internal ModelInfo(ServedModel model, int contextLength)
    {
        Directory = model.Directory;
        Tokenizer = model.Tokenizer;
        Prompter = model.Prompter;
        Notes = model.Notes;
        _prompterFor = model.PrompterFor;
        Generation = model.Generation;
        EosIds = model.EosIds;
        AdapterNames = model.AdapterNames;
        ContextLength = contextLength;
    }

    public string Directory { get; }
    /// <summary>The tokenizer (managed code, no tensors): web threads encode prompts with it.</summary>
    public Tokenizers.HfTokenizer Tokenizer { get; }
    readonly Func<string?, Data.Templates.ChatPrompter?> _prompterFor;

    /// <summary>The base model's chat format (null without a chat template).</summary>
    public Data.Templates.ChatPrompter? Prompter { get; }
    /// <summary>The chat format for requests to an adapter (its trained template when it carries one) or the base (null).</summary>
    public Data.Templates.ChatPrompter? PrompterFor(string? adapter) => _prompterFor(adapter);
    /// <summary>Notes for the server log (folder notes, adapters that vLLM would not load as trained).</summary>
    public IReadOnlyList<string> Notes { get; }
    public GenerationConfig Generation { get; }
    public IReadOnlySet<int> EosIds { get; }
    public IReadOnlyList<string> AdapterNames { get; }
    /// <summary>Prompt plus completion must fit: max_position_embeddings, or less with --max-model-len.</summary>
    public int ContextLength { get; }
}
