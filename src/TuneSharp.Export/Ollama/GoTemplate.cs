using System.Globalization;
using System.Text;

namespace TuneSharp.Export.Ollama;

/// <summary>A Go struct (or pointer to one) seen by a template: its fields; asking for any other field is an error, as in Go.</summary>
public sealed record GoStruct(string TypeName, IReadOnlyDictionary<string, object?> Fields);

/// <summary>
/// An exact evaluator for the subset of Go's text/template that Ollama chat templates use (see
/// <see cref="GoTemplateParser"/>), executed as <c>template.Option("missingkey=zero")</c> does. Values: string, bool,
/// long, double, null (Go's nil interface), <see cref="IReadOnlyList{T}"/> (slice), <see cref="IReadOnlyDictionary{TKey,TValue}"/>
/// with string keys (map), <see cref="GoStruct"/>. Whatever falls outside the subset (printing a composite value, other
/// functions, comparisons Go rejects) throws <see cref="GoTemplateException"/> rather than guessing; the results are
/// checked against real Go 1.19 on committed fixtures (tools/ollama_templates).
/// </summary>
public sealed class GoTemplate
{
    /// <summary>The builtin functions this evaluator implements (Go's and, or, not, eq, ne, lt, le, gt, ge, len, index, slice, print, println).</summary>
    public static readonly IReadOnlySet<string> Functions = new HashSet<string>(StringComparer.Ordinal)
    {
        "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "slice", "print", "println",
    };

    readonly IReadOnlyList<GoNode> _root;

    GoTemplate(IReadOnlyList<GoNode> root) => _root = root;

    /// <summary>Parses <paramref name="source"/>; throws <see cref="GoTemplateException"/> for syntax outside the subset.</summary>
    public static GoTemplate Parse(string source) => new(GoTemplateParser.Parse(source));

    /// <summary>The text the template produces for <paramref name="data"/> (the template's dot and <c>$</c>).</summary>
    public string Execute(object? data)
    {
        var run = new Run(data);
        if (run.Walk(data, _root) != Flow.Normal) throw new GoTemplateException("break or continue outside range");
        return run.Output.ToString();
    }

    /// <summary>Field and variable names the template mentions, lower-cased (Ollama's Template.Vars).</summary>
    public IReadOnlySet<string> Identifiers()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Pipe(GoPipe p)
        {
            foreach (var cmd in p.Commands) foreach (var a in cmd) Arg(a);
        }
        void Arg(GoArg a)
        {
            switch (a)
            {
                case GoFieldChain f:
                    foreach (var n in f.Fields) names.Add(n.ToLowerInvariant());
                    if (f.Receiver != null) Arg(f.Receiver);
                    break;
                case GoVariable v: names.Add(v.Name.ToLowerInvariant()); break;
                case GoSubPipe s: Pipe(s.Pipe); break;
            }
        }
        void Nodes(IEnumerable<GoNode> nodes)
        {
            foreach (var n in nodes)
                switch (n)
                {
                    case GoAction a: Pipe(a.Pipe); break;
                    case GoBranch b:
                        Pipe(b.Pipe);
                        Nodes(b.List);
                        if (b.Else != null) Nodes(b.Else);
                        break;
                }
        }
        Nodes(_root);
        return names;
    }

    enum Flow { Normal, Break, Continue }

    /// <summary>One execution: the output and the variable stack (Go's state.vars, with mark/pop per control structure).</summary>
    sealed class Run(object? root)
    {
        readonly List<(string Name, object? Value)> _vars = [("$", root)];
        public StringBuilder Output { get; } = new();

        public Flow Walk(object? dot, IReadOnlyList<GoNode> nodes)
        {
            foreach (var node in nodes)
            {
                switch (node)
                {
                    case GoText t:
                        Output.Append(t.Text);
                        break;
                    case GoAction a:
                        object? value = Pipeline(dot, a.Pipe);
                        if (a.Pipe.Vars.Count == 0) Output.Append(Print(value));
                        break;
                    case GoLoopControl c:
                        return c.IsBreak ? Flow.Break : Flow.Continue;
                    case GoBranch { Keyword: "range" } r:
                        if (Range(dot, r) is var f && f != Flow.Normal) return f;
                        break;
                    case GoBranch b:
                        if (IfOrWith(dot, b) is var g && g != Flow.Normal) return g;
                        break;
                }
            }
            return Flow.Normal;
        }

        Flow IfOrWith(object? dot, GoBranch b)
        {
            int mark = _vars.Count;
            try
            {
                object? value = Pipeline(dot, b.Pipe);
                if (IsTrue(value)) return Walk(b.Keyword == "with" ? value : dot, b.List);
                return b.Else != null ? Walk(dot, b.Else) : Flow.Normal;
            }
            finally { Pop(mark); }
        }

        Flow Range(object? dot, GoBranch r)
        {
            int outer = _vars.Count;
            try
            {
                object? value = Pipeline(dot, r.Pipe);
                int mark = _vars.Count;
                IEnumerable<(object? Key, object? Element)> items = value switch
                {
                    null => [],
                    IReadOnlyList<object?> list => list.Select((e, i) => ((object?)(long)i, e)),
                    IReadOnlyDictionary<string, object?> map => map.Keys.Order(StringComparer.Ordinal).Select(k => ((object?)k, map[k])),
                    _ => throw new GoTemplateException($"range can't iterate over {TypeName(value)}"),
                };
                bool any = false;
                foreach (var (key, element) in items)
                {
                    any = true;
                    // Go: the last declared variable gets the element, the one before it the index/key.
                    if (r.Pipe.Vars.Count > 0) _vars[mark - 1] = (_vars[mark - 1].Name, element);
                    if (r.Pipe.Vars.Count > 1) _vars[mark - 2] = (_vars[mark - 2].Name, key);
                    var flow = Walk(element, r.List);
                    Pop(mark);
                    if (flow == Flow.Break) break;
                }
                return !any && r.Else != null ? Walk(dot, r.Else) : Flow.Normal;
            }
            finally { Pop(outer); }
        }

        void Pop(int mark) => _vars.RemoveRange(mark, _vars.Count - mark);

        object? Pipeline(object? dot, GoPipe pipe)
        {
            object? value = null;
            bool hasFinal = false;
            foreach (var cmd in pipe.Commands)
            {
                value = Command(dot, cmd, hasFinal, value);
                hasFinal = true;
            }
            foreach (string v in pipe.Vars)
            {
                if (pipe.IsAssign) SetVar(v, value);
                else _vars.Add((v, value));
            }
            return value;
        }

        object? Command(object? dot, IReadOnlyList<GoArg> cmd, bool hasFinal, object? final)
        {
            if (cmd[0] is GoFunction f)
            {
                var args = cmd.Skip(1).Select(a => (Func<object?>)(() => Arg(dot, a))).ToList();
                if (hasFinal) args.Add(() => final);
                return Call(f.Name, args);
            }
            if (cmd.Count > 1 || hasFinal)
                throw new GoTemplateException("can't give argument to non-function " + Describe(cmd[0]));
            return Arg(dot, cmd[0]);
        }

        object? Arg(object? dot, GoArg a) => a switch
        {
            GoLiteral l => l.Value,
            GoDot => dot,
            GoVariable v => Var(v.Name),
            GoSubPipe s => Pipeline(dot, s.Pipe),
            GoFunction f => Call(f.Name, []),
            GoFieldChain c => c.Fields.Aggregate(c.Receiver == null ? dot : Arg(dot, c.Receiver), Field),
            _ => throw new GoTemplateException($"unsupported operand {a}"),
        };

        object? Var(string name)
        {
            for (int i = _vars.Count - 1; i >= 0; i--)
                if (_vars[i].Name == name) return _vars[i].Value;
            throw new GoTemplateException($"undefined variable: {name}");
        }

        void SetVar(string name, object? value)
        {
            for (int i = _vars.Count - 1; i >= 0; i--)
                if (_vars[i].Name == name)
                {
                    _vars[i] = (name, value);
                    return;
                }
            throw new GoTemplateException($"undefined variable: {name}");
        }

        static object? Field(object? receiver, string name) => receiver switch
        {
            // missingkey=zero on map[string]any: an absent key is the nil interface.
            IReadOnlyDictionary<string, object?> map => map.TryGetValue(name, out var v) ? v : null,
            GoStruct s => s.Fields.TryGetValue(name, out var v) ? v
                : throw new GoTemplateException($"can't evaluate field {name} in type {s.TypeName}"),
            null => throw new GoTemplateException($"nil pointer evaluating interface {{}}.{name}"),
            _ => throw new GoTemplateException($"can't evaluate field {name} in type {TypeName(receiver)}"),
        };

        static string Describe(GoArg a) => a switch
        {
            GoFieldChain c => "." + string.Join('.', c.Fields),
            GoVariable v => v.Name,
            GoLiteral l => Print(l.Value),
            _ => a.GetType().Name,
        };
    }

    // ---- builtins

    static object? Call(string name, List<Func<object?>> args)
    {
        switch (name)
        {
            case "and":
            case "or":
            {
                // Go 1.18+: stops at the first argument that decides the result and returns it.
                if (args.Count == 0) throw new GoTemplateException($"wrong number of args for {name}: want at least 1 got 0");
                object? v = null;
                foreach (var a in args)
                {
                    v = a();
                    if (IsTrue(v) == (name == "or")) return v;
                }
                return v;
            }
            case "not": return !IsTrue(Single(name, args));
            case "eq":
            {
                if (args.Count < 2) throw new GoTemplateException("missing argument for comparison");
                object? first = args[0]();
                return args.Skip(1).Any(a => Equal(first, a()));
            }
            case "ne":
            {
                var (a, b) = Two(name, args);
                return !Equal(a, b);
            }
            case "lt": return Compare(args, name) < 0;
            case "le": return Compare(args, name) <= 0;
            case "gt": return Compare(args, name) > 0;
            case "ge": return Compare(args, name) >= 0;
            case "len":
                return Single(name, args) switch
                {
                    string s => (long)Encoding.UTF8.GetByteCount(s),
                    IReadOnlyList<object?> l => (long)l.Count,
                    IReadOnlyDictionary<string, object?> m => (long)m.Count,
                    var v => throw new GoTemplateException($"error calling len: len of type {TypeName(v)}"),
                };
            case "index": return Index(args.Select(a => a()).ToList());
            case "slice": return Slice(args.Select(a => a()).ToList());
            case "print": return Sprint(args.Select(a => a()).ToList(), line: false);
            case "println": return Sprint(args.Select(a => a()).ToList(), line: true);
            default: throw new GoTemplateException($"function \"{name}\" not defined");
        }
    }

    static object? Single(string name, List<Func<object?>> args) =>
        args.Count == 1 ? args[0]() : throw new GoTemplateException($"wrong number of args for {name}: want 1 got {args.Count}");

    static (object? A, object? B) Two(string name, List<Func<object?>> args) =>
        args.Count == 2 ? (args[0](), args[1]()) : throw new GoTemplateException($"wrong number of args for {name}: want 2 got {args.Count}");

    /// <summary>Go's eq on basic kinds; nil against a value is false; other combinations are errors, as in Go.</summary>
    static bool Equal(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => x == y,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y,
        (double x, double y) => x == y,
        (null, null) => throw new GoTemplateException("comparing two nil values is not supported"),
        (null, _) or (_, null) when IsBasic(a) || IsBasic(b) => false,
        _ when IsBasic(a) && IsBasic(b) => throw new GoTemplateException("error calling eq: incompatible types for comparison"),
        _ => throw new GoTemplateException($"error calling eq: comparing {TypeName(a)} and {TypeName(b)} is not supported"),
    };

    static int Compare(List<Func<object?>> args, string name)
    {
        var (a, b) = Two(name, args);
        return (a, b) switch
        {
            (string x, string y) => string.CompareOrdinal(x, y) switch { < 0 => -1, 0 => 0, _ => 1 },
            (long x, long y) => x.CompareTo(y),
            (double x, double y) => x.CompareTo(y),
            _ => throw new GoTemplateException($"error calling {name}: incompatible types for comparison"),
        };
    }

    static bool IsBasic(object? v) => v is string or bool or long or double;

    static object? Index(List<object?> a)
    {
        if (a.Count == 0) throw new GoTemplateException("wrong number of args for index: want at least 1 got 0");
        object? item = a[0];
        foreach (var key in a.Skip(1))
            item = (item, key) switch
            {
                (IReadOnlyList<object?> l, long i) => i >= 0 && i < l.Count ? l[(int)i]
                    : throw new GoTemplateException($"error calling index: index out of range: {i}"),
                (IReadOnlyDictionary<string, object?> m, string k) => m.TryGetValue(k, out var v) ? v : null,
                (null, _) => throw new GoTemplateException("error calling index: index of untyped nil"),
                _ => throw new GoTemplateException($"error calling index: cannot index {TypeName(item)} with {TypeName(key)}"),
            };
        return item;
    }

    static object? Slice(List<object?> a)
    {
        if (a.Count is 0 or > 4) throw new GoTemplateException($"wrong number of args for slice: want 1 to 4 got {a.Count}");
        if (a.Count == 4) throw new GoTemplateException("3-index slices are not supported");
        var idx = a.Skip(1).Select(x => x is long l ? l : throw new GoTemplateException("error calling slice: cannot index slice/array with " + TypeName(x))).ToList();
        switch (a[0])
        {
            case IReadOnlyList<object?> list:
            {
                var (from, to) = Bounds(idx, list.Count);
                return list.Skip(from).Take(to - from).ToList();
            }
            case string s:
            {
                byte[] bytes = Encoding.UTF8.GetBytes(s);
                var (from, to) = Bounds(idx, bytes.Length);
                return Encoding.UTF8.GetString(bytes, from, to - from);
            }
            default: throw new GoTemplateException($"error calling slice: can't slice item of type {TypeName(a[0])}");
        }
    }

    static (int From, int To) Bounds(List<long> idx, int length)
    {
        long from = idx.Count > 0 ? idx[0] : 0, to = idx.Count > 1 ? idx[1] : length;
        if (from < 0 || from > length) throw new GoTemplateException($"error calling slice: index out of range: {from}");
        if (to < from || to > length) throw new GoTemplateException($"error calling slice: index out of range: {to}");
        return ((int)from, (int)to);
    }

    /// <summary>fmt.Sprint (a space between operands when neither is a string) or fmt.Sprintln (always spaces, then "\n").</summary>
    static string Sprint(List<object?> values, bool line)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0 && (line || (values[i - 1] is not string && values[i] is not string))) sb.Append(' ');
            sb.Append(Print(values[i]));
        }
        if (line) sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>Go's truth: false, 0, nil and empty strings, slices and maps are false; structs are true.</summary>
    static bool IsTrue(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IReadOnlyList<object?> l => l.Count > 0,
        IReadOnlyDictionary<string, object?> m => m.Count > 0,
        _ => true,
    };

    /// <summary>How an action prints a value (fmt.Fprint); nil is Go's "&lt;no value&gt;".</summary>
    static string Print(object? v) => v switch
    {
        null => "<no value>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        _ => throw new GoTemplateException($"printing a {TypeName(v)} value is not supported"),
    };

    /// <summary>Go's %v for a float64 (strconv 'g', shortest): the shortest digits that round-trip, exponent form below 1e-4 and from 1e6.</summary>
    static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsInfinity(d)) return d > 0 ? "+Inf" : "-Inf";
        if (d == 0) return 1 / d < 0 ? "-0" : "0";
        string e = "";
        for (int p = 0; p <= 16; p++)
        {
            e = d.ToString("E" + p, CultureInfo.InvariantCulture);
            if (double.Parse(e, CultureInfo.InvariantCulture) == d) break;
        }
        int ePos = e.IndexOf('E');
        string digits = e[..ePos].Replace(".", "", StringComparison.Ordinal).TrimStart('-');
        int exp = int.Parse(e[(ePos + 1)..], CultureInfo.InvariantCulture);
        string sign = d < 0 ? "-" : "";
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        if (exp < -4 || exp >= 6)
        {
            string mant = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
            return $"{sign}{mant}e{(exp < 0 ? '-' : '+')}{Math.Abs(exp):00}";
        }
        if (exp < 0) return sign + "0." + new string('0', -exp - 1) + digits;
        return digits.Length <= exp + 1 ? sign + digits + new string('0', exp + 1 - digits.Length)
            : sign + digits[..(exp + 1)] + "." + digits[(exp + 1)..];
    }

    static string TypeName(object? v) => v switch
    {
        null => "nil",
        string => "string",
        bool => "bool",
        long => "int",
        double => "float64",
        GoStruct s => s.TypeName,
        IReadOnlyList<object?> => "slice",
        IReadOnlyDictionary<string, object?> => "map",
        _ => v.GetType().Name,
    };
}
