using System.Globalization;
using System.Text;

namespace TuneSharp.Data.Templates;

using FilterFn = Func<RenderState, object?, CallArgs, object?>;
using TestFn = Func<object?, object?[], bool>;

/// <summary>A lazily produced sequence (what map/select/reject return in Jinja2): no len(), iterable once.</summary>
internal sealed class PyGenerator(IEnumerable<object?> source, string name)
{
    bool _consumed;
    public string Name { get; } = name;

    public IReadOnlyList<object?> Consume()
    {
        if (_consumed) return [];
        _consumed = true;
        return source.ToList();
    }
}

/// <summary>The filters of Jinja2 3.1 used by chat templates, with transformers' <c>tojson</c>.</summary>
internal static class Filters
{
    public static readonly Dictionary<string, FilterFn> Table = Build();

    static Dictionary<string, FilterFn> Build()
    {
        var t = new Dictionary<string, FilterFn>(StringComparer.Ordinal)
        {
            ["abs"] = (_, v, a) => v switch
            {
                long l => l == long.MinValue ? throw new TemplateRuntimeException("integer overflow") : (object)Math.Abs(l),
                double d => (object)Math.Abs(d),
                bool b => b ? 1L : 0L,
                Undefined u => throw u.Fail(),
                _ => throw new TemplateRuntimeException($"bad operand type for abs(): '{PyOps.TypeName(v)}'"),
            },
            ["batch"] = Batch,
            ["capitalize"] = (_, v, a) => PyOps.Str(v) is var s && s.Length > 0 ? char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant() : "",
            ["center"] = (_, v, a) => Center(PyOps.Str(v), (int)PyOps.ToLong(a.Get(0, "width", 80L))),
            ["default"] = Default,
            ["d"] = Default,
            ["dictsort"] = DictSort,
            ["escape"] = (_, v, a) => Escape(PyOps.Str(v)),
            ["e"] = (_, v, a) => Escape(PyOps.Str(v)),
            ["first"] = (_, v, a) => Seq(v) is { Count: > 0 } l ? l[0] : Undefined.Hint("No first item, sequence was empty."),
            ["last"] = Last,
            ["float"] = (_, v, a) => ToFloat(v, a.Get(0, "default", 0.0)),
            ["int"] = (_, v, a) => ToInt(v, a.Get(0, "default", 0L), a.Get(1, "base", 10L)),
            ["indent"] = Indent,
            ["items"] = (_, v, a) => v switch
            {
                Undefined => new List<object?>(),
                PyDict d => d.Items.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList(),
                _ => throw new TemplateRuntimeException("Can only get item pairs from a mapping."),
            },
            ["join"] = Join,
            ["length"] = (_, v, a) => Length(v),
            ["count"] = (_, v, a) => Length(v),
            ["list"] = (_, v, a) => Seq(v).ToList(),
            ["lower"] = (_, v, a) => PyOps.Str(v).ToLowerInvariant(),
            ["upper"] = (_, v, a) => PyOps.Str(v).ToUpperInvariant(),
            ["map"] = Map,
            ["max"] = (st, v, a) => MinMax(v, a, max: true),
            ["min"] = (st, v, a) => MinMax(v, a, max: false),
            ["replace"] = (_, v, a) => Methods.Replace(PyOps.Str(v), PyOps.Str(a.Required(0, "old")), PyOps.Str(a.Required(1, "new")),
                a.Get(2, "count", null) is { } c ? PyOps.ToLong(c) : -1),
            ["reverse"] = Reverse,
            ["round"] = Round,
            ["safe"] = (_, v, a) => PyOps.Str(v),
            ["select"] = (st, v, a) => SelectOrReject(v, a, select: true, attr: false),
            ["reject"] = (st, v, a) => SelectOrReject(v, a, select: false, attr: false),
            ["selectattr"] = (st, v, a) => SelectOrReject(v, a, select: true, attr: true),
            ["rejectattr"] = (st, v, a) => SelectOrReject(v, a, select: false, attr: true),
            ["sort"] = Sort,
            ["string"] = (_, v, a) => PyOps.Str(v),
            ["sum"] = Sum,
            ["title"] = (_, v, a) => Title(PyOps.Str(v)),
            ["trim"] = (_, v, a) => PyOps.Strip(PyOps.Str(v), a.Get(0, "chars", null) is string c ? c : null, true, true),
            ["unique"] = Unique,
            ["tojson"] = (_, v, a) =>
            {
                a.Check(4, "ensure_ascii", "indent", "separators", "sort_keys");
                return PyJson.Dumps(v, PyOps.Truthy(a.Get(0, "ensure_ascii", false)), a.Get(1, "indent", null),
                    a.Get(2, "separators", null) as PyTuple, PyOps.Truthy(a.Get(3, "sort_keys", false)));
            },
            ["attr"] = (_, v, a) => PyOps.GetAttrOnly(v, PyOps.Str(a.Required(0, "name"))),
            ["wordcount"] = (_, v, a) => (long)Methods.Split(PyOps.Str(v), null, -1, false).Count,
        };
        return t;
    }

    /// <summary>Iterates a value (generators are consumed).</summary>
    public static IReadOnlyList<object?> Seq(object? v) => v is PyGenerator g ? g.Consume() : PyOps.Iterate(v);

    static object? Length(object? v) => v is PyGenerator
        ? throw new TemplateRuntimeException("object of type 'generator' has no len()")
        : PyOps.Length(v);

    static object? Default(RenderState st, object? v, CallArgs a)
    {
        var fallback = a.Get(0, "default_value", "");
        bool boolean = PyOps.Truthy(a.Get(1, "boolean", false));
        return v is Undefined || (boolean && !PyOps.Truthy(v)) ? fallback : v;
    }

    static object? Last(RenderState st, object? v, CallArgs a)
    {
        if (v is PyGenerator) throw new TemplateRuntimeException("'generator' object is not reversible");
        if (v is PyDict) throw new TemplateRuntimeException("'dict' object is not reversible");
        var l = PyOps.Iterate(v);
        return l.Count > 0 ? l[^1] : Undefined.Hint("No last item, sequence was empty.");
    }

    public static string Escape(string s)
    {
        if (s.AsSpan().IndexOfAny("&<>\"'") < 0) return s;
        var sb = new StringBuilder(s.Length + 16);
        foreach (char c in s)
            sb.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&#34;", '\'' => "&#39;", _ => c.ToString() });
        return sb.ToString();
    }

    static string Center(string s, int width)
    {
        int n = PyOps.StrLength(s);
        if (width <= n) return s;
        int total = width - n, left = total / 2 + (total & width & 1);
        return new string(' ', left) + s + new string(' ', total - left);
    }

    static object? ToFloat(object? v, object? fallback) => v switch
    {
        double d => d,
        long or bool => PyOps.ToDouble(v),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => fallback,
    };

    static object? ToInt(object? v, object? fallback, object? baseArg)
    {
        switch (v)
        {
            case long or bool: return PyOps.ToLong(v);
            case double d: return double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)Math.Truncate(d) : fallback;
            case string s:
                {
                    string t = s.Trim().Replace("_", "", StringComparison.Ordinal);
                    int radix = (int)PyOps.ToLong(baseArg);
                    try
                    {
                        if (radix == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
                        if (radix is 2 or 8 or 16 && t.Length > 0) return Convert.ToInt64(t, radix);
                    }
                    catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { }
                    if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && Math.Abs(d) < 9.2e18)
                        return (long)Math.Truncate(d);
                    return fallback;
                }
            default: return fallback;
        }
    }

    static object? Indent(RenderState st, object? v, CallArgs a)
    {
        var width = a.Get(0, "width", 4L);
        string ind = width is string w ? w : new string(' ', (int)Math.Clamp(PyOps.ToLong(width), 0, 10_000));
        bool first = PyOps.Truthy(a.Get(1, "first", false)), blank = PyOps.Truthy(a.Get(2, "blank", false));
        string s = PyOps.Str(v) + "\n";
        var lines = ((List<object?>)Methods.Invoke(s, "splitlines", new CallArgs([], [], "splitlines"))!).Cast<string>().ToList();
        string rv;
        if (blank) rv = string.Join("\n" + ind, lines);
        else
        {
            rv = lines[0];
            if (lines.Count > 1) rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? ind + l : l));
        }
        return first ? ind + rv : rv;
    }

    static object? Join(RenderState st, object? v, CallArgs a)
    {
        string sep = PyOps.Str(a.Get(0, "d", ""));
        var attr = a.Get(1, "attribute", null);
        var items = Seq(v);
        if (attr != null) items = items.Select(AttrGetter(attr, null)).ToList();
        return string.Join(sep, items.Select(PyOps.Str));
    }

    /// <summary>Jinja2's make_attrgetter: dotted path, digit parts are indices, looked up with getitem.</summary>
    static Func<object?, object?> AttrGetter(object? attribute, object? fallback)
    {
        object?[] parts = attribute is string s
            ? s.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? (object?)long.Parse(p, CultureInfo.InvariantCulture) : p).ToArray()
            : [attribute];
        return item =>
        {
            foreach (var p in parts) item = PyOps.GetItem(item, p);
            if (fallback != null && item is Undefined) item = fallback;
            return item;
        };
    }

    static object? Map(RenderState st, object? v, CallArgs a)
    {
        Func<object?, object?> f;
        if (a.Positional.Length == 0 && a.Has(-1, "attribute"))
            f = AttrGetter(a.Get(-1, "attribute", null), a.Get(-1, "default", null));
        else
        {
            if (a.Positional.Length == 0) throw new TemplateRuntimeException("map requires a filter argument");
            string name = PyOps.Str(a.Positional[0]);
            if (!Table.TryGetValue(name, out var filter)) throw new TemplateRuntimeException($"No filter named '{name}'.");
            var rest = new CallArgs(a.Positional[1..], a.Keywords, name);
            f = item => filter(st, item, rest);
        }
        var seq = PyOps.Truthy(v) || v is PyGenerator ? Seq(v) : [];
        return new PyGenerator(seq.Select(f), "sync_do_map");
    }

    static object? SelectOrReject(object? v, CallArgs a, bool select, bool attr)
    {
        int off = 0;
        Func<object?, object?> trans = x => x;
        if (attr)
        {
            if (a.Positional.Length == 0) throw new TemplateRuntimeException("Missing parameter for attribute name");
            trans = AttrGetter(a.Positional[0], null);
            off = 1;
        }
        Func<object?, bool> test;
        if (a.Positional.Length > off)
        {
            string name = PyOps.Str(a.Positional[off]);
            if (!Tests.Table.TryGetValue(name, out var fn)) throw new TemplateRuntimeException($"No test named '{name}'.");
            var args = a.Positional[(off + 1)..];
            test = x => fn(x, args);
        }
        else test = PyOps.Truthy;
        var seq = PyOps.Truthy(v) || v is PyGenerator ? Seq(v) : [];
        return new PyGenerator(seq.Where(x => test(trans(x)) == select), select ? "select_or_reject" : "select_or_reject");
    }

    static object? IgnoreCase(object? v, bool caseSensitive) => !caseSensitive && v is string s ? s.ToLowerInvariant() : v;

    static IComparer<object?> PyComparer { get; } = Comparer<object?>.Create((x, y) => PyOps.Compare(x, y, "<"));

    static object? Sort(RenderState st, object? v, CallArgs a)
    {
        bool reverse = PyOps.Truthy(a.Get(0, "reverse", false)), cs = PyOps.Truthy(a.Get(1, "case_sensitive", false));
        var attr = a.Get(2, "attribute", null);
        var getter = attr == null ? (x => x) : AttrGetter(attr, null);
        var items = Seq(v);
        var keyed = items.Select(x => (Key: IgnoreCase(getter(x), cs), Item: x));
        // Python's sort is stable, also when reversed (equal keys keep their order).
        var sorted = reverse ? keyed.OrderByDescending(p => p.Key, PyComparer) : keyed.OrderBy(p => p.Key, PyComparer);
        return sorted.Select(p => p.Item).ToList();
    }

    static object? DictSort(RenderState st, object? v, CallArgs a)
    {
        if (v is not PyDict d) throw new TemplateRuntimeException("dictsort requires a mapping");
        bool cs = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        string by = PyOps.Str(a.Get(1, "by", "key"));
        bool reverse = PyOps.Truthy(a.Get(2, "reverse", false));
        int pos = by switch { "key" => 0, "value" => 1, _ => throw new TemplateRuntimeException("You can only sort by either \"key\" or \"value\"") };
        var pairs = d.Items.Select(kv => (Key: IgnoreCase(pos == 0 ? kv.Key : kv.Value, cs), Item: (object?)new PyTuple([kv.Key, kv.Value])));
        var sorted = reverse ? pairs.OrderByDescending(p => p.Key, PyComparer) : pairs.OrderBy(p => p.Key, PyComparer);
        return sorted.Select(p => p.Item).ToList();
    }

    static object? Unique(RenderState st, object? v, CallArgs a)
    {
        bool cs = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attr = a.Get(1, "attribute", null);
        var getter = attr == null ? (x => x) : AttrGetter(attr, null);
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var item in Seq(v))
        {
            var key = IgnoreCase(getter(item), cs);
            if (!PyOps.IsHashable(key)) throw new TemplateRuntimeException($"unhashable type: '{PyOps.TypeName(key)}'");
            if (seen.Any(s => PyOps.PyEquals(s, key))) continue;
            seen.Add(key);
            result.Add(item);
        }
        return new PyGenerator(result, "sync_do_unique");
    }

    static object? MinMax(object? v, CallArgs a, bool max)
    {
        bool cs = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attr = a.Get(1, "attribute", null);
        var getter = attr == null ? (x => x) : AttrGetter(attr, null);
        var items = Seq(v);
        if (items.Count == 0) return Undefined.Hint($"No aggregated item, sequence was empty.");
        object? best = items[0];
        foreach (var x in items.Skip(1))
        {
            int c = PyOps.Compare(IgnoreCase(getter(x), cs), IgnoreCase(getter(best), cs), max ? ">" : "<");
            if (max ? c > 0 : c < 0) best = x;
        }
        return best;
    }

    static object? Sum(RenderState st, object? v, CallArgs a)
    {
        var attr = a.Get(0, "attribute", null);
        object? total = a.Get(1, "start", 0L);
        var getter = attr == null ? (x => x) : AttrGetter(attr, null);
        foreach (var x in Seq(v)) total = PyOps.Add(total, getter(x));
        return total;
    }

    static object? Reverse(RenderState st, object? v, CallArgs a)
    {
        if (v is string s) return PyOps.Slice(s, null, null, -1L);
        if (v is PyDict) throw new TemplateRuntimeException("argument to reverse() must be a sequence");
        var items = Seq(v).ToList();
        items.Reverse();
        return new PyGenerator(items, "reversed");
    }

    static object? Round(RenderState st, object? v, CallArgs a)
    {
        long precision = PyOps.ToLong(a.Get(0, "precision", 0L));
        string method = PyOps.Str(a.Get(1, "method", "common"));
        if (v is Undefined u) throw u.Fail();
        if (method is not ("common" or "ceil" or "floor")) throw new TemplateRuntimeException("method must be common, ceil or floor");
        double x = PyOps.ToDouble(v);
        if (method == "common")
        {
            if (v is long or bool) return precision >= 0 ? PyOps.ToLong(v) : (long)Math.Round(x, MidpointRounding.ToEven);
            return Math.Round(x, (int)Math.Clamp(precision, 0, 15), MidpointRounding.ToEven);
        }
        double scale = Math.Pow(10, precision);
        return (method == "ceil" ? Math.Ceiling(x * scale) : Math.Floor(x * scale)) / scale;
    }

    static object? Batch(RenderState st, object? v, CallArgs a)
    {
        long n = PyOps.ToLong(a.Required(0, "linecount"));
        if (n <= 0) throw new TemplateRuntimeException("batch size must be positive");
        bool fill = a.Has(1, "fill_with") && a.Get(1, "fill_with", null) != null;
        var fillWith = a.Get(1, "fill_with", null);
        var result = new List<object?>();
        List<object?> current = [];
        foreach (var item in Seq(v))
        {
            current.Add(item);
            if (current.Count == n) { result.Add(current); current = []; }
        }
        if (current.Count > 0)
        {
            if (fill) while (current.Count < n) current.Add(fillWith);
            result.Add(current);
        }
        return new PyGenerator(result, "do_batch");
    }

    static string Title(string s)
    {
        // Jinja's title: split on runs of [-\s({[<], capitalise each piece.
        var sb = new StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            int j = i;
            bool sep = IsTitleSep(s[i]);
            while (j < s.Length && IsTitleSep(s[j]) == sep) j++;
            string piece = s[i..j];
            sb.Append(sep ? piece : char.ToUpperInvariant(piece[0]) + piece[1..].ToLowerInvariant());
            i = j;
        }
        return sb.ToString();
    }

    static bool IsTitleSep(char c) => c is '-' or '(' or '{' or '[' or '<' || PyOps.IsPySpace(c);
}

/// <summary>Jinja2's tests (<c>x is defined</c>, <c>x is divisibleby 3</c>, ...).</summary>
internal static class Tests
{
    public static readonly Dictionary<string, TestFn> Table = Build();

    static object? Arg(object?[] args, int i, string test) => i < args.Length
        ? args[i]
        : throw new TemplateRuntimeException($"test '{test}' requires {i + 1} argument(s)");

    static Dictionary<string, TestFn> Build()
    {
        TestFn eq = (v, a) => PyOps.PyEquals(v, Arg(a, 0, "eq"));
        TestFn ne = (v, a) => !PyOps.PyEquals(v, Arg(a, 0, "ne"));
        TestFn lt = (v, a) => PyOps.Compare(v, Arg(a, 0, "lt"), "<") < 0;
        TestFn le = (v, a) => PyOps.Compare(v, Arg(a, 0, "le"), "<=") <= 0;
        TestFn gt = (v, a) => PyOps.Compare(v, Arg(a, 0, "gt"), ">") > 0;
        TestFn ge = (v, a) => PyOps.Compare(v, Arg(a, 0, "ge"), ">=") >= 0;
        return new Dictionary<string, TestFn>(StringComparer.Ordinal)
        {
            ["defined"] = (v, _) => v is not Undefined,
            ["undefined"] = (v, _) => v is Undefined,
            ["none"] = (v, _) => v is null,
            ["boolean"] = (v, _) => v is bool,
            ["true"] = (v, _) => v is true,
            ["false"] = (v, _) => v is false,
            ["integer"] = (v, _) => v is long,
            ["float"] = (v, _) => v is double,
            ["number"] = (v, _) => PyOps.IsNumber(v),
            ["string"] = (v, _) => v is string,
            ["mapping"] = (v, _) => v is PyDict,
            ["sequence"] = (v, _) => v is string or List<object?> or PyTuple or PyDict or Undefined,
            ["iterable"] = (v, _) => PyOps.IsIterable(v) || v is PyGenerator,
            ["callable"] = (v, _) => v is IJinjaCallable,
            ["odd"] = (v, _) => PyOps.PyEquals(PyOps.Mod(v, 2L), 1L),
            ["even"] = (v, _) => PyOps.PyEquals(PyOps.Mod(v, 2L), 0L),
            ["divisibleby"] = (v, a) => PyOps.PyEquals(PyOps.Mod(v, Arg(a, 0, "divisibleby")), 0L),
            ["lower"] = (v, _) => PyOps.Str(v) is var s && s.Any(char.IsLower) && !s.Any(char.IsUpper),
            ["upper"] = (v, _) => PyOps.Str(v) is var s && s.Any(char.IsUpper) && !s.Any(char.IsLower),
            ["sameas"] = (v, a) => Arg(a, 0, "sameas") is var o && (v is null or bool or long or string ? PyOps.PyEquals(v, o) && v?.GetType() == o?.GetType() : ReferenceEquals(v, o)),
            ["escaped"] = (_, _) => false,
            ["in"] = (v, a) => PyOps.Contains(Arg(a, 0, "in"), v),
            ["filter"] = (v, _) => v is string s && Filters.Table.ContainsKey(s),
            ["test"] = (v, _) => v is string s && Table!.ContainsKey(s),
            ["eq"] = eq, ["equalto"] = eq, ["=="] = eq,
            ["ne"] = ne, ["!="] = ne,
            ["lt"] = lt, ["lessthan"] = lt, ["<"] = lt,
            ["le"] = le, ["<="] = le,
            ["gt"] = gt, ["greaterthan"] = gt, [">"] = gt,
            ["ge"] = ge, [">="] = ge,
        };
    }
}

/// <summary>Globals: Jinja2's range/dict/namespace plus transformers' raise_exception and strftime_now.</summary>
internal static class Globals
{
    /// <summary>The sandbox's MAX_RANGE.</summary>
    public const int MaxRange = 100_000;

    public static readonly Dictionary<string, object?> Table = new(StringComparer.Ordinal)
    {
        ["raise_exception"] = new NativeFunction("raise_exception", (_, a) => throw new TemplateRaisedException(PyOps.Str(a.Get(0, "message", "")))),
        ["strftime_now"] = new NativeFunction("strftime_now", (st, a) => Strftime(st.Now(), PyOps.Str(a.Required(0, "format")))),
        ["range"] = new NativeFunction("range", (_, a) => Range(a)),
        ["namespace"] = new NativeFunction("namespace", (_, a) =>
        {
            var ns = new JinjaNamespace();
            foreach (var kv in DictFrom(a).Items) ns.Attributes[PyOps.Str(kv.Key)] = kv.Value;
            return ns;
        }),
        ["dict"] = new NativeFunction("dict", (_, a) => DictFrom(a)),
    };

    static PyDict DictFrom(CallArgs a)
    {
        var d = new PyDict();
        if (a.Positional.Length > 1) throw new TemplateRuntimeException($"{a.Function} expected at most 1 positional argument");
        if (a.Positional.Length == 1)
        {
            if (a.Positional[0] is PyDict src) foreach (var kv in src.Items) d.Set(kv.Key, kv.Value);
            else
                foreach (var pair in Filters.Seq(a.Positional[0]))
                {
                    var kv = Filters.Seq(pair);
                    if (kv.Count != 2) throw new TemplateRuntimeException("dictionary update sequence element has wrong length");
                    d.Set(kv[0], kv[1]);
                }
        }
        foreach (var kv in a.Keywords) d.Set(kv.Key, kv.Value);
        return d;
    }

    static object? Range(CallArgs a)
    {
        var nums = a.Positional.Select(x => x is long or bool ? PyOps.ToLong(x)
            : throw new TemplateRuntimeException($"'{PyOps.TypeName(x)}' object cannot be interpreted as an integer")).ToArray();
        long start = 0, stop, step = 1;
        switch (nums.Length)
        {
            case 1: stop = nums[0]; break;
            case 2: start = nums[0]; stop = nums[1]; break;
            case 3: start = nums[0]; stop = nums[1]; step = nums[2]; break;
            default: throw new TemplateRuntimeException($"range expected 1 to 3 arguments, got {nums.Length}");
        }
        if (step == 0) throw new TemplateRuntimeException("range() arg 3 must not be zero");
        long count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
        if (count > MaxRange)
            throw new TemplateRuntimeException($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        var list = new List<object?>((int)count);
        for (long i = 0; i < count; i++) list.Add(start + i * step);
        return list;
    }

    /// <summary>C strftime for the common directives (glibc's %-d style "no padding" flag included).</summary>
    public static string Strftime(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length) { sb.Append(c); continue; }
            char d = format[++i];
            bool noPad = false;
            if (d == '-' && i + 1 < format.Length) { noPad = true; d = format[++i]; }
            string Pad(int v, int w) => noPad ? v.ToString(inv) : v.ToString(new string('0', w), inv);
            sb.Append(d switch
            {
                'Y' => t.Year.ToString(inv),
                'y' => Pad(t.Year % 100, 2),
                'm' => Pad(t.Month, 2),
                'd' => Pad(t.Day, 2),
                'e' => noPad ? t.Day.ToString(inv) : t.Day.ToString(inv).PadLeft(2),
                'H' => Pad(t.Hour, 2),
                'I' => Pad(t.Hour % 12 == 0 ? 12 : t.Hour % 12, 2),
                'M' => Pad(t.Minute, 2),
                'S' => Pad(t.Second, 2),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv),
                'j' => Pad(t.DayOfYear, 3),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'B' => inv.DateTimeFormat.GetMonthName(t.Month),
                'b' or 'h' => inv.DateTimeFormat.GetAbbreviatedMonthName(t.Month),
                'A' => inv.DateTimeFormat.GetDayName(t.DayOfWeek),
                'a' => inv.DateTimeFormat.GetAbbreviatedDayName(t.DayOfWeek),
                'w' => ((int)t.DayOfWeek).ToString(inv),
                'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(inv),
                'F' => t.ToString("yyyy-MM-dd", inv),
                'T' => t.ToString("HH:mm:ss", inv),
                'D' => t.ToString("MM/dd/yy", inv),
                'R' => t.ToString("HH:mm", inv),
                'c' => t.ToString("ddd MMM ", inv) + t.Day.ToString(inv).PadLeft(2) + t.ToString(" HH:mm:ss yyyy", inv),
                'x' => t.ToString("MM/dd/yy", inv),
                'X' => t.ToString("HH:mm:ss", inv),
                'Z' or 'z' => "",
                'n' => "\n",
                't' => "\t",
                '%' => "%",
                _ => "%" + (noPad ? "-" : "") + d,
            });
        }
        return sb.ToString();
    }
}
