using TorchSharp;

namespace TuneSharp.Core.SafeTensors;

/// <summary>Copies between raw bytes and contiguous CPU tensors, in chunks so tensors of 2 GiB and more work too.</summary>
internal static unsafe class TensorBytes
{
    const long ChunkBytes = 1L << 30;

    /// <summary>Fills a freshly allocated contiguous CPU tensor from <paramref name="source"/>.</summary>
    public static void CopyInto(torch.Tensor destination, byte* source)
    {
        ForEachChunk(destination, (chunk, offset) => new ReadOnlySpan<byte>(source + offset, chunk.Length).CopyTo(chunk));
    }

    /// <summary>Writes the bytes of a contiguous CPU tensor to <paramref name="stream"/>.</summary>
    public static void WriteTo(torch.Tensor source, Stream stream) =>
        ForEachChunk(source, (chunk, _) => stream.Write(chunk));

    delegate void ChunkAction(Span<byte> chunk, long byteOffset);

    static void ForEachChunk(torch.Tensor tensor, ChunkAction action)
    {
        long count = tensor.numel();
        if (count == 0) return;
        long elementSize = tensor.element_size();
        long perChunk = Math.Max(1, ChunkBytes / elementSize);
        using var flat = tensor.view(-1); // [count], shares storage
        for (long start = 0; start < count; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, count - start));
            action(part.bytes, start * elementSize); // bytes honours the view's storage offset
        }
    }
}
