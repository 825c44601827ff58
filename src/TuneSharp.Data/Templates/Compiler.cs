namespace TuneSharp.Data.Templates;

using Code = Func<RenderState, Flow>;
using Eval = Func<RenderState, object?>;

/// <summary>Turns the parsed tree into a tree of closures, once; rendering then only runs the closures.</summary>
internal sealed class Compiler(Lexer lexer)
{
    TemplateSyntaxException Fail(string message, int pos) => lexer.Error(message, pos);

    int LineOf(int pos) => lexer.Locate(pos).Line;

    public Code CompileBlock(Stmt[] stmts)
    {
        var parts = stmts.Select(CompileStmt).ToArray();
        if (parts.Length == 1) return parts[0];
        return st =>
        {
            foreach (var p in parts)
            {
                var flow = p(st);
                if (flow != Flow.Normal) return flow;
            }
            return Flow.Normal;
        };
    }

    /// <summary>Adds the template line to runtime errors raised inside a statement.</summary>
    Code Located(Code code, int pos)
    {
        int line = LineOf(pos);
        string? name = lexer.Name;
        return st =>
        {
            try { return code(st); }
            catch (TemplateRuntimeException ex) when (ex.Line == 0)
            {
                throw new TemplateRuntimeException(ex.Reason, name, line);
            }
        };
    }

    Code CompileStmt(Stmt stmt)
    {
        switch (stmt)
        {
            case TextStmt t:
                {
                    string text = t.Text;
                    return st => { st.Write(text); return Flow.Normal; };
                }
            case OutputStmt o:
                {
                    var e = CompileExpr(o.Value);
                    return Located(st => { st.Write(PyOps.Str(e(st))); return Flow.Normal; }, o.Pos);
                }
            case IfStmt i:
                {
                    var test = CompileExpr(i.Test);
                    var body = CompileBlock(i.Body);
                    var els = CompileBlock(i.Else);
                    return Located(st => PyOps.Truthy(test(st)) ? body(st) : els(st), i.Pos);
                }
            case ForStmt f: return Located(CompileFor(f), f.Pos);
            case SetStmt s:
                {
                    var value = CompileExpr(s.Value);
                    var assign = CompileAssign(s.Target);
                    return Located(st => { assign(st, value(st)); return Flow.Normal; }, s.Pos);
                }
            case SetBlockStmt s:
                {
                    var body = CompileBlock(s.Body);
                    var filters = s.Filters.Select(CompileFilter).ToArray();
                    var assign = CompileAssign(s.Target);
                    return Located(st =>
                    {
                        object? v = st.Capture(body);
                        foreach (var f in filters) v = f(st, v);
                        assign(st, v);
                        return Flow.Normal;
                    }, s.Pos);
                }
            case MacroStmt m:
                {
                    var body = CompileBlock(m.Body);
                    var defaults = m.Defaults.Select(d => d == null ? null : CompileExpr(d)).ToArray();
                    string name = m.Name;
                    var parameters = m.Params;
                    return st =>
                    {
                        st.Scope.Set(name, new Macro(name, parameters, defaults, body, st.Scope));
                        return Flow.Normal;
                    };
                }
            case FilterBlockStmt fb:
                {
                    var body = CompileBlock(fb.Body);
                    var filters = fb.Filters.Select(CompileFilter).ToArray();
                    return Located(st =>
                    {
                        object? v = st.Capture(body);
                        foreach (var f in filters) v = f(st, v);
                        st.Write(PyOps.Str(v));
                        return Flow.Normal;
                    }, fb.Pos);
                }
            case WithStmt w:
                {
                    var values = w.Values.Select(CompileExpr).ToArray();
                    var assigns = w.Targets.Select(CompileAssign).ToArray();
                    var body = CompileBlock(w.Body);
                    return Located(st =>
                    {
                        var evaluated = values.Select(v => v(st)).ToArray();
                        var saved = st.Scope;
                        st.Scope = new Scope(saved);
                        try
                        {
                            for (int k = 0; k < assigns.Length; k++) assigns[k](st, evaluated[k]);
                            return body(st);
                        }
                        finally { st.Scope = saved; }
                    }, w.Pos);
                }
            case BreakStmt: return _ => Flow.Break;
            case ContinueStmt: return _ => Flow.Continue;
        }
        throw Fail($"unsupported statement {stmt.GetType().Name}", stmt.Pos);
    }

    Code CompileFor(ForStmt f)
    {
        var iter = CompileExpr(f.Iter);
        var filter = f.Filter == null ? null : CompileExpr(f.Filter);
        var assign = CompileAssign(f.Target);
        var body = CompileBlock(f.Body);
        var els = CompileBlock(f.Else);
        return st =>
        {
            var items = PyOps.Iterate(iter(st));
            var outer = st.Scope;
            if (filter != null)
            {
                var kept = new List<object?>();
                try
                {
                    foreach (var item in items)
                    {
                        st.Scope = new Scope(outer);
                        assign(st, item);
                        if (PyOps.Truthy(filter(st))) kept.Add(item);
                    }
                }
                finally { st.Scope = outer; }
                items = kept;
            }
            if (items.Count == 0) return els(st);
            var loop = new LoopContext(items, 0);
            try
            {
                for (int k = 0; k < items.Count; k++)
                {
                    if (++st.LoopIterations > st.Limits.MaxLoopIterations)
                        throw new TemplateRuntimeException($"more than {st.Limits.MaxLoopIterations} loop iterations in one render");
                    loop.Index0 = k;
                    st.Scope = new Scope(outer);
                    st.Scope.Set("loop", loop);
                    assign(st, items[k]);
                    if (body(st) == Flow.Break) break;
                }
            }
            finally { st.Scope = outer; }
            return Flow.Normal;
        };
    }

    Action<RenderState, object?> CompileAssign(Target target)
    {
        switch (target)
        {
            case NameTarget n:
                {
                    string name = n.Name;
                    return (st, v) => st.Scope.Set(name, v);
                }
            case NamespaceTarget ns:
                {
                    string nsName = ns.Namespace, attr = ns.Attr;
                    return (st, v) =>
                    {
                        var obj = st.Lookup(nsName);
                        if (obj is not JinjaNamespace space) throw new TemplateRuntimeException("cannot assign attribute on non-namespace object");
                        space.Attributes[attr] = v;
                    };
                }
            case TupleTarget t:
                {
                    var parts = t.Items.Select(CompileAssign).ToArray();
                    return (st, v) =>
                    {
                        var items = PyOps.Iterate(v);
                        if (items.Count != parts.Length)
                            throw new TemplateRuntimeException(items.Count > parts.Length
                                ? $"too many values to unpack (expected {parts.Length})"
                                : $"not enough values to unpack (expected {parts.Length}, got {items.Count})");
                        for (int k = 0; k < parts.Length; k++) parts[k](st, items[k]);
                    };
                }
        }
        throw Fail("invalid assignment target", target.Pos);
    }

    Func<RenderState, object?, object?> CompileFilter(FilterExpr f)
    {
        if (!Filters.Table.TryGetValue(f.Name, out var impl)) throw Fail($"No filter named '{f.Name}'.", f.Pos);
        var args = f.Args.Select(CompileExpr).ToArray();
        var kwargs = f.Kwargs.Select(kv => new KeyValuePair<string, Eval>(kv.Key, CompileExpr(kv.Value))).ToArray();
        string name = f.Name;
        return (st, input) => impl(st, input, EvalArgs(st, args, kwargs, name));
    }

    static CallArgs EvalArgs(RenderState st, Eval[] args, KeyValuePair<string, Eval>[] kwargs, string function)
    {
        var a = new object?[args.Length];
        for (int k = 0; k < args.Length; k++) a[k] = args[k](st);
        var kw = kwargs.Length == 0 ? [] : new KeyValuePair<string, object?>[kwargs.Length];
        for (int k = 0; k < kwargs.Length; k++) kw[k] = new(kwargs[k].Key, kwargs[k].Value(st));
        return new CallArgs(a, kw, function);
    }

    public Eval CompileExpr(Expr expr)
    {
        switch (expr)
        {
            case ConstExpr c:
                {
                    object? v = c.Value;
                    return _ => v;
                }
            case NameExpr n:
                {
                    string name = n.Name;
                    return st => st.Lookup(name);
                }
            case GetAttrExpr g:
                {
                    var obj = CompileExpr(g.Obj);
                    string attr = g.Attr;
                    return st => PyOps.GetAttr(obj(st), attr);
                }
            case GetItemExpr g:
                {
                    var obj = CompileExpr(g.Obj);
                    var key = CompileExpr(g.Key);
                    return st => PyOps.GetItem(obj(st), key(st));
                }
            case SliceExpr s:
                {
                    var obj = CompileExpr(s.Obj);
                    var a = s.Start == null ? null : CompileExpr(s.Start);
                    var b = s.Stop == null ? null : CompileExpr(s.Stop);
                    var c = s.Step == null ? null : CompileExpr(s.Step);
                    return st => PyOps.Slice(obj(st), a?.Invoke(st), b?.Invoke(st), c?.Invoke(st));
                }
            case CallExpr call:
                {
                    var callee = CompileExpr(call.Callee);
                    var args = call.Args.Select(CompileExpr).ToArray();
                    var kwargs = call.Kwargs.Select(kv => new KeyValuePair<string, Eval>(kv.Key, CompileExpr(kv.Value))).ToArray();
                    return st =>
                    {
                        var f = callee(st);
                        if (f is Undefined u) throw u.Fail();
                        if (f is not IJinjaCallable callable) throw new TemplateRuntimeException($"'{PyOps.TypeName(f)}' object is not callable");
                        var a = EvalArgs(st, args, kwargs, "call");
                        return callable.Call(st, a.Positional, a.Keywords);
                    };
                }
            case FilterExpr f:
                {
                    var input = CompileExpr(f.Input!);
                    var apply = CompileFilter(f);
                    return st => apply(st, input(st));
                }
            case TestExpr t:
                {
                    if (!Tests.Table.TryGetValue(t.Name, out var test)) throw Fail($"No test named '{t.Name}'.", t.Pos);
                    var input = CompileExpr(t.Input);
                    var args = t.Args.Select(CompileExpr).ToArray();
                    bool negated = t.Negated;
                    return st =>
                    {
                        var v = input(st);
                        var a = new object?[args.Length];
                        for (int k = 0; k < a.Length; k++) a[k] = args[k](st);
                        return test(v, a) != negated;
                    };
                }
            case BinaryExpr b: return CompileBinary(b);
            case UnaryExpr u:
                {
                    var operand = CompileExpr(u.Operand);
                    return u.Op switch
                    {
                        "not" => st => !PyOps.Truthy(operand(st)),
                        "-" => st => PyOps.Negate(operand(st)),
                        _ => st => PyOps.Plus(operand(st)),
                    };
                }
            case ConcatExpr c:
                {
                    var parts = c.Parts.Select(CompileExpr).ToArray();
                    return st =>
                    {
                        var strs = new string[parts.Length];
                        for (int k = 0; k < parts.Length; k++) strs[k] = PyOps.Str(parts[k](st));
                        return string.Concat(strs);
                    };
                }
            case CompareExpr c: return CompileCompare(c);
            case CondExpr c:
                {
                    var test = CompileExpr(c.Test);
                    var then = CompileExpr(c.Then);
                    var els = c.Else == null ? null : CompileExpr(c.Else);
                    int line = LineOf(c.Pos);
                    return st => PyOps.Truthy(test(st)) ? then(st)
                        : els != null ? els(st)
                        : Undefined.Hint($"the inline if-expression on line {line} evaluated to false and no else section was defined.");
                }
            case ListExpr l:
                {
                    var items = l.Items.Select(CompileExpr).ToArray();
                    return st =>
                    {
                        var list = new List<object?>(items.Length);
                        foreach (var i in items) list.Add(i(st));
                        return list;
                    };
                }
            case TupleExpr t:
                {
                    var items = t.Items.Select(CompileExpr).ToArray();
                    return st =>
                    {
                        var arr = new object?[items.Length];
                        for (int k = 0; k < arr.Length; k++) arr[k] = items[k](st);
                        return new PyTuple(arr);
                    };
                }
            case DictExpr d:
                {
                    var items = d.Items.Select(kv => (Key: CompileExpr(kv.Key), Value: CompileExpr(kv.Value))).ToArray();
                    return st =>
                    {
                        var dict = new PyDict();
                        foreach (var (k, v) in items)
                        {
                            var key = k(st);
                            if (!PyOps.IsHashable(key)) throw new TemplateRuntimeException($"unhashable type: '{PyOps.TypeName(key)}'");
                            dict.Set(key, v(st));
                        }
                        return dict;
                    };
                }
        }
        throw Fail($"unsupported expression {expr.GetType().Name}", expr.Pos);
    }

    Eval CompileBinary(BinaryExpr b)
    {
        var l = CompileExpr(b.Left);
        var r = CompileExpr(b.Right);
        return b.Op switch
        {
            "and" => st => l(st) is var x && !PyOps.Truthy(x) ? x : r(st),
            "or" => st => l(st) is var x && PyOps.Truthy(x) ? x : r(st),
            "+" => st => PyOps.Add(l(st), r(st)),
            "-" => st => PyOps.Sub(l(st), r(st)),
            "*" => st => PyOps.Mul(l(st), r(st)),
            "/" => st => PyOps.TrueDiv(l(st), r(st)),
            "//" => st => PyOps.FloorDiv(l(st), r(st)),
            "%" => st => PyOps.Mod(l(st), r(st)),
            "**" => st => PyOps.Pow(l(st), r(st)),
            _ => throw Fail($"unknown operator {b.Op}", b.Pos),
        };
    }

    Eval CompileCompare(CompareExpr c)
    {
        var first = CompileExpr(c.First);
        var ops = c.Rest.Select(kv => (Op: kv.Key, Operand: CompileExpr(kv.Value))).ToArray();
        return st =>
        {
            var left = first(st);
            foreach (var (op, operand) in ops)
            {
                var right = operand(st);
                bool ok = op switch
                {
                    "==" => PyOps.PyEquals(left, right),
                    "!=" => !PyOps.PyEquals(left, right),
                    "<" => PyOps.Compare(left, right, op) < 0,
                    "<=" => PyOps.Compare(left, right, op) <= 0,
                    ">" => PyOps.Compare(left, right, op) > 0,
                    ">=" => PyOps.Compare(left, right, op) >= 0,
                    "in" => PyOps.Contains(right, left),
                    _ => !PyOps.Contains(right, left),
                };
                if (!ok) return false;
                left = right;
            }
            return true;
        };
    }
}
