namespace TuneSharp.Core.SafeTensors;

/// <summary>One tensor entry of a safetensors header. <see cref="Begin"/>/<see cref="End"/> are byte offsets
/// relative to the start of the data section (after the 8-byte length and the JSON header).</summary>
public sealed record TensorInfo(string Name, SafeDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>End - Begin.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Product of the shape (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>Value equality, comparing shapes element by element.</summary>
    public bool Equals(TensorInfo? other) =>
        other is not null && Name == other.Name && DType == other.DType && Begin == other.Begin && End == other.End &&
        Shape.AsSpan().SequenceEqual(other.Shape);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, DType, Shape.Length, Begin, End);

    /// <summary>Shape as text, e.g. <c>[512, 64]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
