using System.Diagnostics.CodeAnalysis;

namespace TuneSharp.Data.Templates;

// The runtime value model mirrors Python's: null = None, bool, long = int, double = float, string = str,
// List<object?> = list, PyTuple = tuple, PyDict = dict, plus Jinja's Undefined, namespace, loop and callables.

/// <summary>Jinja2's default <c>Undefined</c>: prints as empty, is falsy, iterates as empty; most other uses fail.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Plain = new("undefined value", false);

    Undefined(string message, bool unsafeAccess)
    {
        Message = message;
        IsUnsafe = unsafeAccess;
    }

    /// <summary>The UndefinedError (or SecurityError) message Jinja2 reports when this value is used.</summary>
    public string Message { get; }
    public bool IsUnsafe { get; }

    public static Undefined Name(string name) => new($"'{name}' is undefined", false);
    public static Undefined Attr(object? obj, string attr) => new($"'{PyOps.ObjectTypeRepr(obj)}' has no attribute '{attr}'", false);
    public static Undefined Element(object? obj, object? key) => key is string s
        ? Attr(obj, s)
        : new($"'{PyOps.ObjectTypeRepr(obj)}' has no element {PyOps.Repr(key)}", false);
    public static Undefined Hint(string message) => new(message, false);
    public static Undefined Unsafe(object? obj, string attr) =>
        new($"access to attribute '{attr}' of '{PyOps.TypeName(obj)}' object is unsafe.", true);

    public TemplateRuntimeException Fail() => new(Message);
}

/// <summary>An immutable Python tuple.</summary>
internal sealed class PyTuple(object?[] items)
{
    public static readonly PyTuple Empty = new([]);
    public object?[] Items { get; } = items;
}

/// <summary>An insertion-ordered Python dict with Python key equality (1 == 1.0 == True).</summary>
internal sealed class PyDict
{
    readonly OrderedDictionary<object, object?> _map = new(PyKeyComparer.Instance);
    static readonly object NoneKey = new();

    public int Count => _map.Count;
    public void Set(object? key, object? value) => _map[key ?? NoneKey] = value;
    public bool TryGet(object? key, out object? value) => _map.TryGetValue(key ?? NoneKey, out value);
    public bool ContainsKey(object? key) => _map.ContainsKey(key ?? NoneKey);
    public IEnumerable<object?> Keys => _map.Keys.Select(k => ReferenceEquals(k, NoneKey) ? null : k);
    public IEnumerable<object?> Values => _map.Values;
    public IEnumerable<KeyValuePair<object?, object?>> Items =>
        _map.Select(kv => new KeyValuePair<object?, object?>(ReferenceEquals(kv.Key, NoneKey) ? null : kv.Key, kv.Value));
}

sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();
    public new bool Equals(object? x, object? y) => PyOps.PyEquals(x, y);
    public int GetHashCode([DisallowNull] object obj) => obj switch
    {
        bool b => b ? 1 : 0,
        long l => l.GetHashCode(),
        double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => ((long)d).GetHashCode(),
        double d => d.GetHashCode(),
        string s => s.GetHashCode(StringComparison.Ordinal),
        PyTuple t => t.Items.Aggregate(17, (h, v) => h * 31 + (v == null ? 0 : GetHashCode(v))),
        _ => obj.GetHashCode(),
    };
}

/// <summary>The object made by <c>namespace(...)</c>: attributes assignable with <c>{% set ns.x = ... %}</c>.</summary>
internal sealed class JinjaNamespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>Anything callable from a template: globals, macros, bound methods, <c>loop.cycle</c>.</summary>
internal interface IJinjaCallable
{
    object? Call(RenderState state, object?[] args, KeyValuePair<string, object?>[] kwargs);
}

/// <summary>A method looked up on a value (<c>s.startswith</c>, <c>d.items</c>), called later.</summary>
internal sealed class BoundMethod(object? self, string name) : IJinjaCallable
{
    public object? Self { get; } = self;
    public string Name { get; } = name;
    public object? Call(RenderState state, object?[] args, KeyValuePair<string, object?>[] kwargs) =>
        Methods.Invoke(Self, Name, new CallArgs(args, kwargs, Name));
}

/// <summary>A callable implemented in C# (globals such as <c>range</c>, <c>namespace</c>).</summary>
internal sealed class NativeFunction(string name, Func<RenderState, CallArgs, object?> body) : IJinjaCallable
{
    public string Name { get; } = name;
    public object? Call(RenderState state, object?[] args, KeyValuePair<string, object?>[] kwargs) =>
        body(state, new CallArgs(args, kwargs, Name));
}

/// <summary>The <c>loop</c> variable of a for loop.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items, int depth0) : IJinjaCallable
{
    object? _lastChanged = Undefined.Plain;
    bool _changedCalled;

    public int Index0 { get; set; }
    public int Length => items.Count;
    public int Depth0 { get; } = depth0;

    public object? GetAttribute(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)Index0 + 1,
        "revindex0" => (long)(Length - Index0 - 1),
        "revindex" => (long)(Length - Index0),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth0" => (long)Depth0,
        "depth" => (long)Depth0 + 1,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : Undefined.Hint("there is no previous item"),
        "nextitem" => Index0 + 1 < Length ? items[Index0 + 1] : Undefined.Hint("there is no next item"),
        "cycle" => new NativeFunction("cycle", (_, a) =>
            a.Positional.Length == 0 ? throw new TemplateRuntimeException("no items for cycling given") : a.Positional[Index0 % a.Positional.Length]),
        "changed" => new NativeFunction("changed", (_, a) =>
        {
            object? value = new PyTuple(a.Positional);
            if (_changedCalled && PyOps.PyEquals(value, _lastChanged)) return false;
            _changedCalled = true;
            _lastChanged = value;
            return true;
        }),
        _ => Undefined.Attr(this, name),
    };

    public object? Call(RenderState state, object?[] args, KeyValuePair<string, object?>[] kwargs) =>
        throw new TemplateRuntimeException("Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier.");
}

/// <summary>Positional and keyword arguments of a call, bound to a Python-like signature by name or position.</summary>
internal readonly struct CallArgs(object?[] positional, KeyValuePair<string, object?>[] keywords, string function)
{
    public object?[] Positional { get; } = positional;
    public KeyValuePair<string, object?>[] Keywords { get; } = keywords;
    public string Function { get; } = function;

    /// <summary>Argument at <paramref name="pos"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public object? Get(int pos, string name, object? fallback)
    {
        if (pos >= 0 && pos < Positional.Length) return Positional[pos];
        foreach (var kv in Keywords)
            if (kv.Key == name) return kv.Value;
        return fallback;
    }

    public bool Has(int pos, string name)
    {
        if (pos >= 0 && pos < Positional.Length) return true;
        foreach (var kv in Keywords)
            if (kv.Key == name) return true;
        return false;
    }

    public object? Required(int pos, string name) => Has(pos, name)
        ? Get(pos, name, null)
        : throw new TemplateRuntimeException($"{Function}() missing required argument '{name}'");

    /// <summary>Rejects more positional arguments than <paramref name="max"/> or unknown keywords.</summary>
    public void Check(int max, params string[] names)
    {
        if (Positional.Length > max)
            throw new TemplateRuntimeException($"{Function}() takes at most {max} positional arguments ({Positional.Length} given)");
        foreach (var kv in Keywords)
            if (Array.IndexOf(names, kv.Key) < 0)
                throw new TemplateRuntimeException($"{Function}() got an unexpected keyword argument '{kv.Key}'");
    }
}
