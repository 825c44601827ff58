using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TuneSharp.Data.Templates;

/// <summary>Conversion of inputs to runtime values, and Python's <c>json.dumps</c> for the <c>tojson</c> filter.</summary>
internal static class PyJson
{
    /// <summary>Converts a JsonNode or plain CLR value (dictionary, list, string, number, bool, null) to a runtime value.</summary>
    public static object? FromClr(object? value, int depth = 0)
    {
        if (depth > 512) throw new ArgumentException("template variable nested deeper than 512 levels");
        switch (value)
        {
            case null: return null;
            case string or bool or long or double: return value;
            case int or short or sbyte or byte or ushort or uint: return Convert.ToInt64(value, CultureInfo.InvariantCulture);
            case ulong u: return u <= long.MaxValue ? (long)u : (double)u;
            case float f: return (double)f;
            case decimal m: return m == Math.Floor(m) && Math.Abs(m) < long.MaxValue ? (long)m : (double)m;
            case char c: return c.ToString();
            case JsonNode node: return FromNode(node, depth);
            case JsonElement el: return FromElement(el, depth);
            case IDictionary dict:
                {
                    var d = new PyDict();
                    foreach (DictionaryEntry e in dict) d.Set(FromClr(e.Key, depth + 1), FromClr(e.Value, depth + 1));
                    return d;
                }
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                {
                    var d = new PyDict();
                    foreach (var kv in pairs) d.Set(kv.Key, FromClr(kv.Value, depth + 1));
                    return d;
                }
            case IEnumerable seq:
                {
                    var l = new List<object?>();
                    foreach (var x in seq) l.Add(FromClr(x, depth + 1));
                    return l;
                }
        }
        throw new ArgumentException($"template variables cannot hold a {value.GetType().Name}");
    }

    static object? FromNode(JsonNode node, int depth) => node switch
    {
        JsonObject o => o.Aggregate(new PyDict(), (d, kv) => { d.Set(kv.Key, kv.Value == null ? null : FromNode(kv.Value, depth + 1)); return d; }),
        JsonArray a => a.Select(x => x == null ? null : FromNode(x, depth + 1)).ToList(),
        JsonValue v => FromValue(v),
        _ => null,
    };

    static object? FromValue(JsonValue v)
    {
        if (v.TryGetValue<JsonElement>(out var el)) return FromElement(el, 0);
        if (v.TryGetValue<string>(out var s)) return s;
        if (v.TryGetValue<bool>(out var b)) return b;
        if (v.TryGetValue<long>(out var l)) return l;
        if (v.TryGetValue<int>(out var i)) return (long)i;
        if (v.TryGetValue<double>(out var d)) return d;
        if (v.TryGetValue<float>(out var f)) return (double)f;
        if (v.TryGetValue<decimal>(out var m)) return FromClr(m);
        return FromClr(v.GetValue<object>());
    }

    /// <summary>JSON numbers written without '.', 'e' become ints (as Python's json.loads does), others floats.</summary>
    static object? FromElement(JsonElement el, int depth)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined: return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return el.GetString();
            case JsonValueKind.Number:
                {
                    string raw = el.GetRawText();
                    if (raw.IndexOfAny(['.', 'e', 'E']) < 0 && el.TryGetInt64(out long l)) return l;
                    return el.GetDouble();
                }
            case JsonValueKind.Array: return el.EnumerateArray().Select(x => FromElement(x, depth + 1)).ToList();
            case JsonValueKind.Object:
                {
                    var d = new PyDict();
                    foreach (var p in el.EnumerateObject()) d.Set(p.Name, FromElement(p.Value, depth + 1));
                    return d;
                }
        }
        return null;
    }

    /// <summary>Python's <c>json.dumps(value, ensure_ascii, indent, separators, sort_keys)</c>.</summary>
    public static string Dumps(object? value, bool ensureAscii, object? indent, PyTuple? separators, bool sortKeys)
    {
        string? indentStr = indent switch
        {
            null => null,
            string s => s,
            long or bool => new string(' ', (int)Math.Clamp(PyOps.ToLong(indent), 0, 1000)),
            _ => throw new TemplateRuntimeException($"indent must be an int or str, not {PyOps.TypeName(indent)}"),
        };
        string itemSep = indentStr != null ? "," : ", ", keySep = ": ";
        if (separators != null)
        {
            if (separators.Items.Length != 2 || separators.Items.Any(x => x is not string))
                throw new TemplateRuntimeException("separators must be a (item_separator, key_separator) tuple of str");
            itemSep = (string)separators.Items[0]!;
            keySep = (string)separators.Items[1]!;
        }
        var sb = new StringBuilder();
        new Writer(sb, ensureAscii, indentStr, itemSep, keySep, sortKeys).Write(value, 0);
        return sb.ToString();
    }

    sealed class Writer(StringBuilder sb, bool ensureAscii, string? indent, string itemSep, string keySep, bool sortKeys)
    {
        public void Write(object? v, int level)
        {
            if (level > 500) throw new TemplateRuntimeException("maximum recursion depth exceeded while encoding a JSON object");
            switch (v)
            {
                case null: sb.Append("null"); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d: sb.Append(Float(d)); break;
                case string s: WriteString(s); break;
                case List<object?> list: WriteSeq(list, level); break;
                case PyTuple t: WriteSeq(t.Items, level); break;
                case PyDict dict: WriteDict(dict, level); break;
                default: throw new TemplateRuntimeException($"Object of type {PyOps.TypeName(v)} is not JSON serializable");
            }
        }

        static string Float(double d) =>
            double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyOps.FormatFloat(d);

        void NewLine(int level)
        {
            if (indent == null) return;
            sb.Append('\n');
            for (int i = 0; i < level; i++) sb.Append(indent);
        }

        void WriteSeq(IReadOnlyList<object?> items, int level)
        {
            if (items.Count == 0) { sb.Append("[]"); return; }
            sb.Append('[');
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0) sb.Append(itemSep);
                NewLine(level + 1);
                Write(items[i], level + 1);
            }
            NewLine(level);
            sb.Append(']');
        }

        void WriteDict(PyDict dict, int level)
        {
            if (dict.Count == 0) { sb.Append("{}"); return; }
            var items = dict.Items.Select(kv => (Key: KeyString(kv.Key), kv.Value)).ToList();
            if (sortKeys)
            {
                if (dict.Keys.Any(k => k is not string))
                    throw new TemplateRuntimeException("sort_keys requires all keys to be str in this engine");
                items.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            }
            sb.Append('{');
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0) sb.Append(itemSep);
                NewLine(level + 1);
                WriteString(items[i].Key);
                sb.Append(keySep);
                Write(items[i].Value, level + 1);
            }
            NewLine(level);
            sb.Append('}');
        }

        static string KeyString(object? key) => key switch
        {
            string s => s,
            null => "null",
            bool b => b ? "true" : "false",
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => Float(d),
            _ => throw new TemplateRuntimeException($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
        };

        void WriteString(string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }
}
