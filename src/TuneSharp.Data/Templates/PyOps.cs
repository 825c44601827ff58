using System.Globalization;
using System.Text;

namespace TuneSharp.Data.Templates;

/// <summary>Python semantics for the runtime values: truthiness, str/repr, equality, ordering, arithmetic, indexing.</summary>
internal static class PyOps
{
    /// <summary>Largest string or list that arithmetic (repetition, concatenation) may build.</summary>
    public const int MaxSequenceLength = 16 * 1024 * 1024;

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        Undefined => "Undefined",
        JinjaNamespace => "Namespace",
        LoopContext => "LoopContext",
        Macro => "Macro",
        PyGenerator => "generator",
        _ => "builtin_function_or_method",
    };

    /// <summary>Jinja2's <c>object_type_repr</c>, used in undefined-attribute messages.</summary>
    public static string ObjectTypeRepr(object? v) => v switch
    {
        null => "None",
        JinjaNamespace => "jinja2.utils.Namespace object",
        LoopContext => "jinja2.runtime.LoopContext object",
        Macro => "jinja2.runtime.Macro object",
        _ => TypeName(v) + " object",
    };

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Items.Length > 0,
        PyDict d => d.Count > 0,
        Undefined => false,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    // ---------- printing ----------

    /// <summary>Python's <c>str()</c> as Jinja2 prints values (Undefined prints as empty).</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        Undefined => "",
        _ => Repr(v),
    };

    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 200) throw new TemplateRuntimeException("maximum recursion depth exceeded while getting the repr of an object");
        switch (v)
        {
            case string s: AppendStrRepr(sb, s); break;
            case List<object?> l:
                sb.Append('[');
                for (int i = 0; i < l.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, l[i], depth + 1);
                }
                sb.Append(']');
                break;
            case PyTuple t:
                sb.Append('(');
                for (int i = 0; i < t.Items.Length; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, t.Items[i], depth + 1);
                }
                if (t.Items.Length == 1) sb.Append(',');
                sb.Append(')');
                break;
            case PyDict d:
                sb.Append('{');
                bool first = true;
                foreach (var kv in d.Items)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendRepr(sb, kv.Key, depth + 1);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }
                sb.Append('}');
                break;
            case Undefined: sb.Append("Undefined"); break;
            case JinjaNamespace ns:
                sb.Append("<Namespace {");
                bool firstAttr = true;
                foreach (var kv in ns.Attributes)
                {
                    if (!firstAttr) sb.Append(", ");
                    firstAttr = false;
                    AppendStrRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }
                sb.Append("}>");
                break;
            case null or bool or long or double: sb.Append(Str(v)); break;
            case BoundMethod m: sb.Append($"<built-in method {m.Name} of {TypeName(m.Self)} object>"); break;
            case NativeFunction f: sb.Append($"<function {f.Name}>"); break;
            case Macro m: sb.Append($"<Macro '{m.Name}'>"); break;
            case PyGenerator g: sb.Append($"<generator object {g.Name}>"); break;
            default: sb.Append('<').Append(TypeName(v)).Append('>'); break;
        }
    }

    static void AppendStrRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            int cp = c;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(c, s[i + 1]);
                if (IsPrintable(cp)) { sb.Append(c).Append(s[i + 1]); i++; continue; }
                sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
                i++;
                continue;
            }
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (IsPrintable(cp)) sb.Append(c);
            else if (cp < 0x100) sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append("\\u").Append(cp.ToString("x4", CultureInfo.InvariantCulture));
        }
        sb.Append(quote);
    }

    static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, exponent form below 1e-4 and from 1e16.</summary>
    public static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r.StartsWith('-');
        if (negative) r = r[1..];
        int exp10 = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp10 = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        int dot = r.IndexOf('.');
        string intPart = dot >= 0 ? r[..dot] : r, frac = dot >= 0 ? r[(dot + 1)..] : "";
        string digits = intPart + frac;
        int decpt = intPart.Length + exp10;
        int lead = 0;
        while (lead < digits.Length && digits[lead] == '0') lead++;
        digits = digits[lead..].TrimEnd('0');
        decpt -= lead;
        string sign = negative ? "-" : "";
        if (digits.Length == 0) return sign + "0.0";
        if (decpt > 16 || decpt < -3)
        {
            int x = decpt - 1;
            string mant = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
            return sign + mant + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }
        if (decpt <= 0) return sign + "0." + new string('0', -decpt) + digits;
        if (decpt >= digits.Length) return sign + digits + new string('0', decpt - digits.Length) + ".0";
        return sign + digits[..decpt] + "." + digits[decpt..];
    }

    // ---------- equality and ordering ----------

    public static bool PyEquals(object? a, object? b)
    {
        if (ReferenceEquals(a, b)) return true;
        switch (a)
        {
            case null: return b is null;
            case string s: return b is string str && string.Equals(s, str, StringComparison.Ordinal);
            case bool or long or double:
                if (!IsNumber(b)) return false;
                if (a is double || b is double) return ToDouble(a) == ToDouble(b);
                return ToLong(a) == ToLong(b);
            case List<object?> l:
                return b is List<object?> m && SeqEquals(l, m);
            case PyTuple t:
                return b is PyTuple u && SeqEquals(t.Items, u.Items);
            case PyDict d:
                if (b is not PyDict e || e.Count != d.Count) return false;
                foreach (var kv in d.Items)
                    if (!e.TryGet(kv.Key, out var other) || !PyEquals(kv.Value, other)) return false;
                return true;
            case Undefined: return b is Undefined;
            default: return false;
        }
    }

    static bool SeqEquals(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (!PyEquals(a[i], b[i])) return false;
        return true;
    }

    /// <summary>Python ordering (<c>&lt;</c> etc.); throws TypeError-like errors for unordered types.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
            {
                double x = ToDouble(a), y = ToDouble(b);
                return x < y ? -1 : x > y ? 1 : 0;  // NaN compares as equal-but-not-equal; rare
            }
            return ToLong(a).CompareTo(ToLong(b));
        }
        if (a is string s && b is string t) return Math.Sign(string.CompareOrdinal(s, t));
        if (a is List<object?> l && b is List<object?> m) return CompareSeq(l, m, op);
        if (a is PyTuple p && b is PyTuple q) return CompareSeq(p.Items, q.Items, op);
        throw new TemplateRuntimeException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    static int CompareSeq(IReadOnlyList<object?> a, IReadOnlyList<object?> b, string op)
    {
        for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            if (!PyEquals(a[i], b[i])) return Compare(a[i], b[i], op);
        return a.Count.CompareTo(b.Count);
    }

    public static long ToLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d => (long)d,
        _ => throw new TemplateRuntimeException($"expected an integer, got '{TypeName(v)}'"),
    };

    public static double ToDouble(object? v) => v switch
    {
        double d => d,
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new TemplateRuntimeException($"expected a number, got '{TypeName(v)}'"),
    };

    // ---------- arithmetic ----------

    static TemplateRuntimeException Unsupported(string op, object? a, object? b) =>
        new($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");

    static void FailIfUndefined(object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
    }

    public static object? Add(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (a is string s)
        {
            if (b is string t) return CheckLength(s.Length + (long)t.Length) ? s + t : null;
            throw new TemplateRuntimeException($"can only concatenate str (not \"{TypeName(b)}\") to str");
        }
        if (a is List<object?> l)
        {
            if (b is not List<object?> m) throw new TemplateRuntimeException($"can only concatenate list (not \"{TypeName(b)}\") to list");
            CheckLength(l.Count + (long)m.Count);
            var r = new List<object?>(l.Count + m.Count);
            r.AddRange(l);
            r.AddRange(m);
            return r;
        }
        if (a is PyTuple p && b is PyTuple q) return new PyTuple([.. p.Items, .. q.Items]);
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) + ToDouble(b);
            return Checked(() => checked(ToLong(a) + ToLong(b)));
        }
        throw Unsupported("+", a, b);
    }

    public static object? Sub(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("-", a, b);
        if (a is double || b is double) return ToDouble(a) - ToDouble(b);
        return Checked(() => checked(ToLong(a) - ToLong(b)));
    }

    public static object? Mul(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (a is string or List<object?> && b is long or bool) return Repeat(a, ToLong(b));
        if (b is string or List<object?> && a is long or bool) return Repeat(b, ToLong(a));
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("*", a, b);
        if (a is double || b is double) return ToDouble(a) * ToDouble(b);
        return Checked(() => checked(ToLong(a) * ToLong(b)));
    }

    static object Repeat(object? seq, long n)
    {
        if (n < 0) n = 0;
        if (seq is string s)
        {
            CheckLength(s.Length * n);
            return new StringBuilder(s.Length * (int)n).Insert(0, s, (int)n).ToString();
        }
        var l = (List<object?>)seq!;
        CheckLength(l.Count * n);
        var r = new List<object?>((int)(l.Count * n));
        for (long i = 0; i < n; i++) r.AddRange(l);
        return r;
    }

    static bool CheckLength(long n) => n <= MaxSequenceLength
        ? true
        : throw new TemplateRuntimeException($"sequence of {n} items exceeds the limit of {MaxSequenceLength}");

    static object Checked(Func<long> f)
    {
        try { return f(); }
        catch (OverflowException) { throw new TemplateRuntimeException("integer overflow (values beyond 64 bits are not supported)"); }
    }

    public static object? TrueDiv(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("/", a, b);
        double y = ToDouble(b);
        if (y == 0) throw new TemplateRuntimeException(a is double || b is double ? "float division by zero" : "division by zero");
        return ToDouble(a) / y;
    }

    public static object? FloorDiv(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("//", a, b);
        if (a is double || b is double)
        {
            double y = ToDouble(b);
            if (y == 0) throw new TemplateRuntimeException("float floor division by zero");
            return Math.Floor(ToDouble(a) / y);
        }
        long x = ToLong(a), d = ToLong(b);
        if (d == 0) throw new TemplateRuntimeException("integer division or modulo by zero");
        if (x == long.MinValue && d == -1) throw new TemplateRuntimeException("integer overflow (values beyond 64 bits are not supported)");
        long q = x / d;
        if ((x % d != 0) && ((x < 0) != (d < 0))) q--;
        return q;
    }

    public static object? Mod(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (a is string) throw new TemplateRuntimeException("printf-style '%' string formatting is not supported; use the format filter or ~");
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("%", a, b);
        if (a is double || b is double)
        {
            double x = ToDouble(a), y = ToDouble(b);
            if (y == 0) throw new TemplateRuntimeException("float modulo");
            double r = x % y;
            if (r != 0 && (r < 0) != (y < 0)) r += y;
            return r;
        }
        long p = ToLong(a), q = ToLong(b);
        if (q == 0) throw new TemplateRuntimeException("integer division or modulo by zero");
        if (q == -1) return 0L;
        long m = p % q;
        if (m != 0 && (m < 0) != (q < 0)) m += q;
        return m;
    }

    public static object? Pow(object? a, object? b)
    {
        FailIfUndefined(a, b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("** or pow()", a, b);
        if (a is double || b is double || ToLong(b) < 0) return Math.Pow(ToDouble(a), ToDouble(b));
        long x = ToLong(a), n = ToLong(b), r = 1;
        try
        {
            checked
            {
                while (n > 0)
                {
                    if ((n & 1) != 0) r *= x;
                    n >>= 1;
                    if (n > 0) x *= x;
                }
            }
        }
        catch (OverflowException) { throw new TemplateRuntimeException("integer overflow (values beyond 64 bits are not supported)"); }
        return r;
    }

    public static object? Negate(object? a) => a switch
    {
        Undefined u => throw u.Fail(),
        double d => (object)-d,
        long l => l == long.MinValue ? throw new TemplateRuntimeException("integer overflow") : (object)-l,
        bool b => b ? -1L : 0L,
        _ => throw new TemplateRuntimeException($"bad operand type for unary -: '{TypeName(a)}'"),
    };

    public static object? Plus(object? a) => a switch
    {
        Undefined u => throw u.Fail(),
        double or long => a,
        bool b => (object)(b ? 1L : 0L),
        _ => throw new TemplateRuntimeException($"bad operand type for unary +: '{TypeName(a)}'"),
    };

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is string sub) return s.Contains(sub, StringComparison.Ordinal);
                if (item is Undefined u) throw u.Fail();
                throw new TemplateRuntimeException($"'in <string>' requires string as left operand, not {TypeName(item)}");
            case List<object?> l: return l.Any(x => PyEquals(x, item));
            case PyTuple t: return t.Items.Any(x => PyEquals(x, item));
            case PyDict d: return IsHashable(item) ? d.ContainsKey(item) : throw new TemplateRuntimeException($"unhashable type: '{TypeName(item)}'");
            case Undefined: return false;
            case PyGenerator g: return g.Consume().Any(x => PyEquals(x, item));
            case JinjaNamespace ns: return item is string k && ns.Attributes.ContainsKey(k);
            default: throw new TemplateRuntimeException($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    public static bool IsHashable(object? v) => v is not (List<object?> or PyDict);

    // ---------- sequences ----------

    static bool HasSurrogates(string s)
    {
        foreach (char c in s)
            if (char.IsSurrogate(c)) return true;
        return false;
    }

    /// <summary>Splits a string into Python characters (code points), so astral characters count as one.</summary>
    public static string[] CodePoints(string s)
    {
        var r = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { r.Add(s.Substring(i, 2)); i++; }
            else r.Add(s[i].ToString());
        }
        return [.. r];
    }

    public static int StrLength(string s) => HasSurrogates(s) ? CodePoints(s).Length : s.Length;

    /// <summary>Python's <c>len()</c>.</summary>
    public static long Length(object? v) => v switch
    {
        string s => StrLength(s),
        List<object?> l => l.Count,
        PyTuple t => t.Items.Length,
        PyDict d => d.Count,
        Undefined => 0,
        _ => throw new TemplateRuntimeException($"object of type '{TypeName(v)}' has no len()"),
    };

    /// <summary>Python's <c>iter()</c> materialised: list items, tuple items, dict keys, string characters.</summary>
    public static IReadOnlyList<object?> Iterate(object? v) => v switch
    {
        List<object?> l => l,
        PyTuple t => t.Items,
        PyDict d => d.Keys.ToList(),
        string s => HasSurrogates(s) ? CodePoints(s) : s.Select(c => (object?)c.ToString()).ToList(),
        Undefined u => u.IsUnsafe ? throw u.Fail() : Array.Empty<object?>(),
        PyGenerator g => g.Consume(),
        JinjaNamespace => throw new TemplateRuntimeException("'Namespace' object is not iterable"),
        _ => throw new TemplateRuntimeException($"'{TypeName(v)}' object is not iterable"),
    };

    public static bool IsIterable(object? v) => v is string or List<object?> or PyTuple or PyDict or Undefined or PyGenerator;

    /// <summary>Jinja2's sandboxed <c>obj[key]</c>: falls back to an attribute for string keys, else Undefined.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        if (obj is Undefined u) throw u.Fail();
        switch (obj)
        {
            case PyDict d:
                if (IsHashable(key) && d.TryGet(key, out var value)) return value;
                break;
            case List<object?> l when key is long or bool:
                {
                    long i = ToLong(key);
                    if (i < 0) i += l.Count;
                    if (i >= 0 && i < l.Count) return l[(int)i];
                    return Undefined.Element(obj, key);
                }
            case PyTuple t when key is long or bool:
                {
                    long i = ToLong(key);
                    if (i < 0) i += t.Items.Length;
                    if (i >= 0 && i < t.Items.Length) return t.Items[(int)i];
                    return Undefined.Element(obj, key);
                }
            case string s when key is long or bool:
                {
                    var cps = HasSurrogates(s) ? CodePoints(s) : null;
                    int n = cps?.Length ?? s.Length;
                    long i = ToLong(key);
                    if (i < 0) i += n;
                    if (i >= 0 && i < n) return cps != null ? cps[i] : s[(int)i].ToString();
                    return Undefined.Element(obj, key);
                }
            case LoopContext or JinjaNamespace:
                break;
        }
        if (key is string name) return TryGetAttrNoItem(obj, name, out var attr) ? attr : Undefined.Attr(obj, name);
        return Undefined.Element(obj, key);
    }

    /// <summary>Jinja2's sandboxed <c>obj.name</c>: Python attribute (methods) first, then item.</summary>
    public static object? GetAttr(object? obj, string name)
    {
        if (obj is Undefined u) throw u.Fail();
        if (TryGetAttrNoItem(obj, name, out var attr)) return attr;
        if (obj is PyDict d && d.TryGet(name, out var value)) return value;
        return Undefined.Attr(obj, name);
    }

    /// <summary>The <c>attr</c> filter: the Python attribute only, Undefined when there is none.</summary>
    public static object? GetAttrOnly(object? obj, string name)
    {
        if (obj is Undefined u) throw u.Fail();
        return TryGetAttrNoItem(obj, name, out var v) ? v : Undefined.Attr(obj, name);
    }

    /// <summary>The Python attribute only (no item fallback).</summary>
    static bool TryGetAttrNoItem(object? obj, string name, out object? value)
    {
        switch (obj)
        {
            case JinjaNamespace ns: return ns.Attributes.TryGetValue(name, out value);
            case LoopContext loop:
                value = loop.GetAttribute(name);
                return value is not Undefined;
        }
        value = Methods.Lookup(obj, name) switch
        {
            MethodKind.Safe => new BoundMethod(obj, name),
            MethodKind.Unsafe => Undefined.Unsafe(obj, name),
            _ => null,
        };
        return value != null;
    }

    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        if (obj is Undefined u) throw u.Fail();
        long? ToIndex(object? v) => v switch
        {
            null => null,
            long or bool => ToLong(v),
            _ => throw new TemplateRuntimeException("slice indices must be integers or None or have an __index__ method"),
        };
        long? a = ToIndex(start), b = ToIndex(stop), c = ToIndex(step);
        switch (obj)
        {
            case string s:
                {
                    if (!HasSurrogates(s)) return new string(SliceIndices(s.Length, a, b, c).Select(i => s[i]).ToArray());
                    var cps = CodePoints(s);
                    return string.Concat(SliceIndices(cps.Length, a, b, c).Select(i => cps[i]));
                }
            case List<object?> l: return SliceIndices(l.Count, a, b, c).Select(i => l[i]).ToList();
            case PyTuple t: return new PyTuple(SliceIndices(t.Items.Length, a, b, c).Select(i => t.Items[i]).ToArray());
            default: return Undefined.Element(obj, null);
        }
    }

    /// <summary>The indices a Python slice selects (PySlice_AdjustIndices).</summary>
    static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long? step)
    {
        long st = step ?? 1;
        if (st == 0) throw new TemplateRuntimeException("slice step cannot be zero");
        long lo, hi;
        if (st > 0)
        {
            lo = Clamp(start ?? 0, length, 0, length);
            hi = Clamp(stop ?? length, length, 0, length);
            for (long i = lo; i < hi; i += st) yield return (int)i;
        }
        else
        {
            lo = Clamp(start ?? length - 1, length, -1, length - 1);
            hi = Clamp(stop ?? -length - 1, length, -1, length - 1);
            for (long i = lo; i > hi; i += st) yield return (int)i;
        }
    }

    static long Clamp(long index, int length, long min, long max)
    {
        if (index < 0) index += length;
        return Math.Clamp(index, min, max);
    }

    public static bool IsPySpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int a = 0, b = s.Length;
        Func<char, bool> strip = chars == null ? IsPySpace : c => chars.Contains(c);
        if (left) while (a < b && strip(s[a])) a++;
        if (right) while (b > a && strip(s[b - 1])) b--;
        return s[a..b];
    }
}
