using System.Collections;
using System.Runtime.CompilerServices;

namespace TuneSharp.Training.Config;

/// <summary>An immutable list with value equality, so config records compare by content.</summary>
[CollectionBuilder(typeof(ValueList), nameof(ValueList.Create))]
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    readonly T[] _items;

    public ValueList(IEnumerable<T> items) => _items = items.ToArray();

    public static ValueList<T> Empty { get; } = new([]);

    public T this[int index] => _items[index];
    public int Count => _items.Length;
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) =>
        other is not null && _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default);
    public override bool Equals(object? obj) => Equals(obj as ValueList<T>);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var item in _items) h.Add(item);
        return h.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(", ", _items) + "]";
}

/// <summary>Creation helpers for <see cref="ValueList{T}"/> (also enables collection expressions).</summary>
public static class ValueList
{
    public static ValueList<T> Create<T>(ReadOnlySpan<T> items) => new(items.ToArray());
}

/// <summary>
/// An immutable string-keyed map with value equality that keeps insertion order (order matters for pattern maps:
/// the first matching pattern wins).
/// </summary>
public sealed class ValueMap<T> : IReadOnlyList<KeyValuePair<string, T>>, IEquatable<ValueMap<T>>, IValueMap
{
    readonly KeyValuePair<string, T>[] _items;

    public ValueMap(IEnumerable<KeyValuePair<string, T>> items)
    {
        _items = items.ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in _items)
            if (!seen.Add(kv.Key)) throw new ArgumentException($"duplicate key '{kv.Key}'", nameof(items));
    }

    public static ValueMap<T> Empty { get; } = new([]);

    public KeyValuePair<string, T> this[int index] => _items[index];
    public int Count => _items.Length;

    /// <summary>The value of a key, or false when absent.</summary>
    public bool TryGetValue(string key, out T value)
    {
        foreach (var kv in _items)
            if (kv.Key == key) { value = kv.Value; return true; }
        value = default!;
        return false;
    }

    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, T>>)_items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
    IEnumerable<KeyValuePair<string, object?>> IValueMap.Entries => _items.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value));

    public bool Equals(ValueMap<T>? other)
    {
        if (other is null || other._items.Length != _items.Length) return false;
        for (int i = 0; i < _items.Length; i++)
            if (_items[i].Key != other._items[i].Key || !EqualityComparer<T>.Default.Equals(_items[i].Value, other._items[i].Value))
                return false;
        return true;
    }
    public override bool Equals(object? obj) => Equals(obj as ValueMap<T>);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var kv in _items) h.Add(kv);
        return h.ToHashCode();
    }

    public override string ToString() => "{" + string.Join(", ", _items.Select(kv => $"{kv.Key}: {kv.Value}")) + "}";
}

/// <summary>The entries of a <see cref="ValueMap{T}"/> without its type argument (for the schema's writer and checks).</summary>
public interface IValueMap
{
    IEnumerable<KeyValuePair<string, object?>> Entries { get; }
}

/// <summary>Builds <see cref="ValueList{T}"/> / <see cref="ValueMap{T}"/> of a runtime item type (the schema's converters).</summary>
internal static class ValueCollections
{
    public static object List(Type item, IReadOnlyList<object?> items)
    {
        var array = Array.CreateInstance(item, items.Count);
        for (int i = 0; i < items.Count; i++) array.SetValue(items[i], i);
        return Activator.CreateInstance(typeof(ValueList<>).MakeGenericType(item), array)!;
    }

    public static object Map(Type item, IReadOnlyList<KeyValuePair<string, object?>> items)
    {
        var pair = typeof(KeyValuePair<,>).MakeGenericType(typeof(string), item);
        var array = Array.CreateInstance(pair, items.Count);
        for (int i = 0; i < items.Count; i++) array.SetValue(Activator.CreateInstance(pair, items[i].Key, items[i].Value), i);
        return Activator.CreateInstance(typeof(ValueMap<>).MakeGenericType(item), array)!;
    }
}
