namespace TuneSharp.Data.Encoding;

/// <summary>
/// Maps a stream in parallel with ordered output and bounded memory: the source is read a block at a time on the
/// consumer's thread (readers need not be thread-safe), each block is mapped over the cores while the consumer handles
/// the previous block's results. Output order = input order, whatever the thread timing.
/// </summary>
static class OrderedParallel
{
    const int BlockPerWorker = 64;

    public static IEnumerable<TOut> Map<TIn, TOut>(IEnumerable<TIn> source, Func<TIn, TOut> map, int? maxDegreeOfParallelism = null,
        CancellationToken cancellation = default)
    {
        int degree = Math.Max(1, maxDegreeOfParallelism ?? Environment.ProcessorCount);
        int blockSize = BlockPerWorker * degree;
        var options = new ParallelOptions { MaxDegreeOfParallelism = degree, CancellationToken = cancellation };
        using var e = source.GetEnumerator();
        var block = Read(e, blockSize);
        Task<TOut[]>? pending = block.Count == 0 ? null : Start(block);
        while (pending != null)
        {
            var next = Read(e, blockSize);  // read ahead while the pending block is mapped
            TOut[] results = pending.GetAwaiter().GetResult();
            pending = next.Count == 0 ? null : Start(next);
            foreach (var r in results) yield return r;
        }

        Task<TOut[]> Start(List<TIn> items) => Task.Run(() =>
        {
            var output = new TOut[items.Count];
            Parallel.For(0, items.Count, options, i => output[i] = map(items[i]));
            return output;
        }, cancellation);
    }

    static List<T> Read<T>(IEnumerator<T> e, int count)
    {
        var list = new List<T>(count);
        while (list.Count < count && e.MoveNext()) list.Add(e.Current);
        return list;
    }
}
