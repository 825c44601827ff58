using System.Text;

namespace TuneSharp.Data.Templates;

internal enum MethodKind { None, Safe, Unsafe }

/// <summary>The Python methods templates call on str, dict, list and tuple values (the sandbox blocks mutating ones).</summary>
internal static class Methods
{
    static readonly HashSet<string> StrMethods = new(StringComparer.Ordinal)
    {
        "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower", "replace", "title",
        "capitalize", "format", "count", "find", "rfind", "index", "rindex", "join", "isdigit", "isalpha", "isalnum",
        "isspace", "islower", "isupper", "splitlines", "removeprefix", "removesuffix", "casefold", "swapcase",
    };
    static readonly HashSet<string> DictMethods = new(StringComparer.Ordinal) { "items", "keys", "values", "get", "copy" };
    static readonly HashSet<string> DictUnsafe = new(StringComparer.Ordinal) { "pop", "popitem", "setdefault", "update", "clear" };
    static readonly HashSet<string> ListMethods = new(StringComparer.Ordinal) { "index", "count", "copy" };
    static readonly HashSet<string> ListUnsafe = new(StringComparer.Ordinal) { "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear" };

    public static MethodKind Lookup(object? obj, string name) => obj switch
    {
        string when StrMethods.Contains(name) => MethodKind.Safe,
        PyDict when DictMethods.Contains(name) => MethodKind.Safe,
        PyDict when DictUnsafe.Contains(name) => MethodKind.Unsafe,
        List<object?> when ListMethods.Contains(name) => MethodKind.Safe,
        List<object?> when ListUnsafe.Contains(name) => MethodKind.Unsafe,
        PyTuple when name is "index" or "count" => MethodKind.Safe,
        _ => MethodKind.None,
    };

    public static object? Invoke(object? self, string name, CallArgs a) => self switch
    {
        string s => InvokeStr(s, name, a),
        PyDict d => InvokeDict(d, name, a),
        List<object?> l => InvokeSeq(l, name, a),
        PyTuple t => InvokeSeq(t.Items, name, a),
        _ => throw new TemplateRuntimeException($"'{PyOps.TypeName(self)}' object has no attribute '{name}'"),
    };

    static string Str(CallArgs a, int pos, string name)
    {
        var v = a.Required(pos, name);
        return v as string ?? throw new TemplateRuntimeException($"{a.Function}() argument must be str, not {PyOps.TypeName(v)}");
    }

    static string? OptStr(CallArgs a, int pos, string name)
    {
        var v = a.Get(pos, name, null);
        return v switch
        {
            null => null,
            string s => s,
            _ => throw new TemplateRuntimeException($"{a.Function}() argument must be str or None, not {PyOps.TypeName(v)}"),
        };
    }

    static object? InvokeStr(string s, string name, CallArgs a)
    {
        switch (name)
        {
            case "startswith":
            case "endswith":
                {
                    var arg = a.Required(0, "prefix");
                    string sub = Window(s, a);
                    IEnumerable<object?> options = arg is PyTuple t ? t.Items : [arg];
                    foreach (var o in options)
                    {
                        if (o is not string p) throw new TemplateRuntimeException($"{name} first arg must be str or a tuple of str, not {PyOps.TypeName(o)}");
                        if (name == "startswith" ? sub.StartsWith(p, StringComparison.Ordinal) : sub.EndsWith(p, StringComparison.Ordinal)) return true;
                    }
                    return false;
                }
            case "split":
            case "rsplit":
                {
                    string? sep = OptStr(a, 0, "sep");
                    long max = a.Get(1, "maxsplit", -1L) is var m && m is long or bool ? PyOps.ToLong(m) : -1;
                    return Split(s, sep, max, name == "rsplit");
                }
            case "strip": return PyOps.Strip(s, OptStr(a, 0, "chars"), true, true);
            case "lstrip": return PyOps.Strip(s, OptStr(a, 0, "chars"), true, false);
            case "rstrip": return PyOps.Strip(s, OptStr(a, 0, "chars"), false, true);
            case "upper": return s.ToUpperInvariant();
            case "lower": case "casefold": return s.ToLowerInvariant();
            case "swapcase": return new string(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray());
            case "title": return PyTitle(s);
            case "capitalize": return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();
            case "replace":
                {
                    string old = Str(a, 0, "old"), neu = Str(a, 1, "new");
                    long count = a.Get(2, "count", -1L) is long c ? c : -1;
                    return Replace(s, old, neu, count);
                }
            case "format": return Format(s, a);
            case "count": return (long)CountOccurrences(Window(s, a, 1), Str(a, 0, "sub"));
            case "find": return (long)Find(s, Str(a, 0, "sub"), false);
            case "rfind": return (long)Find(s, Str(a, 0, "sub"), true);
            case "index":
            case "rindex":
                {
                    int i = Find(s, Str(a, 0, "sub"), name == "rindex");
                    return i >= 0 ? (long)i : throw new TemplateRuntimeException("substring not found");
                }
            case "join":
                return string.Join(s, PyOps.Iterate(a.Required(0, "iterable")).Select(x =>
                    x as string ?? throw new TemplateRuntimeException($"sequence item: expected str instance, {PyOps.TypeName(x)} found")));
            case "isdigit": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": return s.Length > 0 && s.All(PyOps.IsPySpace);
            case "islower": return s.Any(char.IsLower) && !s.Any(char.IsUpper);
            case "isupper": return s.Any(char.IsUpper) && !s.Any(char.IsLower);
            case "splitlines": return SplitLines(s, PyOps.Truthy(a.Get(0, "keepends", false)));
            case "removeprefix": { string p = Str(a, 0, "prefix"); return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s; }
            case "removesuffix": { string p = Str(a, 0, "suffix"); return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s; }
        }
        throw new TemplateRuntimeException($"'str' object has no attribute '{name}'");
    }

    /// <summary>The optional start/end window of startswith/endswith/count (UTF-16 indices; fine for BMP text).</summary>
    static string Window(string s, CallArgs a, int first = 1)
    {
        var start = a.Get(first, "start", null);
        var end = a.Get(first + 1, "end", null);
        if (start == null && end == null) return s;
        return (string)PyOps.Slice(s, start, end, null)!;
    }

    public static List<object?> Split(string s, string? sep, long max, bool fromRight)
    {
        var parts = new List<object?>();
        if (sep == null)
        {
            // Whitespace split: runs of whitespace separate, leading/trailing whitespace ignored.
            var words = new List<(int Start, int End)>();
            int i = 0;
            while (i < s.Length)
            {
                while (i < s.Length && PyOps.IsPySpace(s[i])) i++;
                if (i >= s.Length) break;
                int j = i;
                while (j < s.Length && !PyOps.IsPySpace(s[j])) j++;
                words.Add((i, j));
                i = j;
            }
            if (max < 0 || words.Count <= max + 1) return words.Select(w => (object?)s[w.Start..w.End]).ToList();
            if (!fromRight)
            {
                for (int k = 0; k < max; k++) parts.Add(s[words[k].Start..words[k].End]);
                parts.Add(PyOps.Strip(s[words[(int)max].Start..], null, false, true));
            }
            else
            {
                int first = words.Count - (int)max;
                parts.Add(PyOps.Strip(s[..words[first - 1].End], null, true, false));
                for (int k = first; k < words.Count; k++) parts.Add(s[words[k].Start..words[k].End]);
            }
            return parts;
        }
        if (sep.Length == 0) throw new TemplateRuntimeException("empty separator");
        var all = s.Split(sep, StringSplitOptions.None);
        if (max < 0 || all.Length <= max + 1) return all.Select(x => (object?)x).ToList();
        if (!fromRight)
        {
            for (int k = 0; k < max; k++) parts.Add(all[k]);
            parts.Add(string.Join(sep, all.Skip((int)max)));
        }
        else
        {
            int keep = all.Length - (int)max;
            parts.Add(string.Join(sep, all.Take(keep)));
            for (int k = keep; k < all.Length; k++) parts.Add(all[k]);
        }
        return parts;
    }

    static List<object?> SplitLines(string s, bool keepEnds)
    {
        var r = new List<object?>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            bool isBreak = c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029';
            if (!isBreak) { i++; continue; }
            int eol = i;
            i += c == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2 : 1;
            r.Add(keepEnds ? s[start..i] : s[start..eol]);
            start = i;
        }
        if (start < s.Length) r.Add(s[start..]);
        return r;
    }

    public static string Replace(string s, string old, string neu, long count)
    {
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, neu, long.MaxValue) : s.Replace(old, neu, StringComparison.Ordinal);
        if (old.Length == 0) return InsertEverywhere(s, neu, count);
        var sb = new StringBuilder();
        int pos = 0;
        for (long n = 0; n < count; n++)
        {
            int i = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0) break;
            sb.Append(s, pos, i - pos).Append(neu);
            pos = i + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    static string InsertEverywhere(string s, string neu, long count)
    {
        var sb = new StringBuilder();
        long n = 0;
        foreach (var cp in PyOps.CodePoints(s))
        {
            if (n++ < count) sb.Append(neu);
            sb.Append(cp);
        }
        if (n < count) sb.Append(neu);
        return sb.ToString();
    }

    static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return PyOps.StrLength(s) + 1;
        int n = 0, i = 0;
        while ((i = s.IndexOf(sub, i, StringComparison.Ordinal)) >= 0) { n++; i += sub.Length; }
        return n;
    }

    static int Find(string s, string sub, bool last) =>
        last ? s.LastIndexOf(sub, StringComparison.Ordinal) : s.IndexOf(sub, StringComparison.Ordinal);

    public static string PyTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsUpper(c) || char.IsLower(c) || CharIsTitle(c);
            sb.Append(!cased ? c : prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevCased = cased;
        }
        return sb.ToString();
    }

    static bool CharIsTitle(char c) => char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter;

    /// <summary><c>str.format</c> with <c>{}</c>, <c>{0}</c> and <c>{name}</c> fields (no format specs).</summary>
    static string Format(string s, CallArgs a)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '{' && i + 1 < s.Length && s[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.Length && s[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c == '}') throw new TemplateRuntimeException("Single '}' encountered in format string");
            if (c != '{') { sb.Append(c); continue; }
            int end = s.IndexOf('}', i);
            if (end < 0) throw new TemplateRuntimeException("Single '{' encountered in format string");
            string field = s[(i + 1)..end];
            if (field.Contains(':') || field.Contains('!') || field.Contains('.') || field.Contains('['))
                throw new TemplateRuntimeException($"format field '{{{field}}}' is not supported (only {{}}, {{0}} and {{name}})");
            object? value;
            if (field.Length == 0) value = Positional(a, auto++);
            else if (int.TryParse(field, out int idx)) value = Positional(a, idx);
            else value = a.Keywords.FirstOrDefault(k => k.Key == field) is { Key: not null } kv ? kv.Value
                : throw new TemplateRuntimeException($"KeyError: '{field}'");
            sb.Append(PyOps.Str(value));
            i = end;
        }
        return sb.ToString();
    }

    static object? Positional(CallArgs a, int i) => i < a.Positional.Length
        ? a.Positional[i]
        : throw new TemplateRuntimeException($"Replacement index {i} out of range for positional args tuple");

    static object? InvokeDict(PyDict d, string name, CallArgs a)
    {
        switch (name)
        {
            case "items": return d.Items.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList();
            case "keys": return d.Keys.ToList();
            case "values": return d.Values.ToList();
            case "get":
                {
                    var key = a.Required(0, "key");
                    return PyOps.IsHashable(key) && d.TryGet(key, out var v) ? v : a.Get(1, "default", null);
                }
            case "copy":
                {
                    var c = new PyDict();
                    foreach (var kv in d.Items) c.Set(kv.Key, kv.Value);
                    return c;
                }
        }
        throw new TemplateRuntimeException($"'dict' object has no attribute '{name}'");
    }

    static object? InvokeSeq(IReadOnlyList<object?> items, string name, CallArgs a)
    {
        switch (name)
        {
            case "count": { var x = a.Required(0, "value"); return (long)items.Count(v => PyOps.PyEquals(v, x)); }
            case "index":
                {
                    var x = a.Required(0, "value");
                    for (int i = 0; i < items.Count; i++)
                        if (PyOps.PyEquals(items[i], x)) return (long)i;
                    throw new TemplateRuntimeException($"{PyOps.Repr(x)} is not in list");
                }
            case "copy": return items.ToList();
        }
        throw new TemplateRuntimeException($"'list' object has no attribute '{name}'");
    }
}
