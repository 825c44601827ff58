namespace TuneSharp.Data.Templates;

/// <summary>Jinja2's recursive-descent parser (same precedence and statement grammar), producing <see cref="Stmt"/> trees.</summary>
internal sealed class Parser
{
    /// <summary>Maximum nesting of expressions and blocks (keeps hostile sources from exhausting the stack).</summary>
    public const int MaxDepth = 100;

    static readonly HashSet<string> CompareOps = ["==", "!=", "<", "<=", ">", ">="];
    static readonly HashSet<string> Unsupported = ["extends", "block", "include", "import", "from", "call", "autoescape", "do", "print"];

    readonly List<Token> _tokens;
    readonly Lexer _lexer;
    int _i;
    int _depth;

    Parser(List<Token> tokens, Lexer lexer)
    {
        _tokens = tokens;
        _lexer = lexer;
    }

    public static (Stmt[] Body, Lexer Lexer) Parse(string source, string? name)
    {
        var (tokens, lexer) = Lexer.Tokenize(source, name);
        var p = new Parser(tokens, lexer);
        var body = p.Subparse(null);
        if (p.Current.Kind != TokenKind.Eof) throw p.Fail($"unexpected {Describe(p.Current)}", p.Current);
        return (body, lexer);
    }

    Token Current => _tokens[_i];
    Token Peek => _tokens[Math.Min(_i + 1, _tokens.Count - 1)];
    Token Next() => _tokens[_i < _tokens.Count - 1 ? _i++ : _i];

    TemplateSyntaxException Fail(string message, Token at) => _lexer.Error(message, at.Pos);

    static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.BlockBegin => "begin of statement block",
        TokenKind.VariableBegin => "begin of print statement",
        TokenKind.Name => $"'{t.Text}'",
        TokenKind.Operator => $"'{t.Text}'",
        _ => t.Kind.ToString().ToLowerInvariant(),
    };

    Token Expect(TokenKind kind, string? text = null)
    {
        var t = Current;
        if (t.Kind != kind || (text != null && t.Text != text))
        {
            string what = text != null ? $"'{text}'" : kind switch
            {
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VariableEnd => "end of print statement",
                TokenKind.Name => "name",
                _ => kind.ToString().ToLowerInvariant(),
            };
            if (t.Kind == TokenKind.Eof) throw Fail($"unexpected end of template, expected {what}.", t);
            throw Fail($"expected token {what}, got {Describe(t)}", t);
        }
        return Next();
    }

    bool SkipOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        Next();
        return true;
    }

    bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Next();
        return true;
    }

    void Enter(Token at)
    {
        if (++_depth > MaxDepth) throw Fail($"template nesting deeper than {MaxDepth} levels", at);
    }

    // ---------- statements ----------

    /// <summary>Parses until a block tag named in <paramref name="endTags"/> (left as the current token) or EOF.</summary>
    Stmt[] Subparse(string[]? endTags)
    {
        Enter(Current);
        var body = new List<Stmt>();
        while (Current.Kind != TokenKind.Eof)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Data:
                    Next();
                    body.Add(new TextStmt(t.Pos, t.Text));
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    body.Add(new OutputStmt(t.Pos, ParseTuple(withCondExpr: true)));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    if (endTags != null && Current.Kind == TokenKind.Name && endTags.Contains(Current.Text))
                    {
                        _depth--;
                        return [.. body];
                    }
                    if (ParseStatement() is { } stmt) body.Add(stmt);
                    Expect(TokenKind.BlockEnd);
                    break;
                default:
                    throw Fail($"unexpected {Describe(t)}", t);
            }
        }
        if (endTags != null)
            throw Fail($"Unexpected end of template. Jinja was looking for the following tags: {string.Join(" or ", endTags.Select(e => $"'{e}'"))}.", Current);
        _depth--;
        return [.. body];
    }

    /// <summary>Body of a block statement: the head's block end, then statements up to one of the end tags.</summary>
    Stmt[] ParseStatements(string[] endTags, bool dropNeedle = false)
    {
        SkipOp(":");
        Expect(TokenKind.BlockEnd);
        var body = Subparse(endTags);
        if (dropNeedle) Next();
        return body;
    }

    Stmt? ParseStatement()
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Fail("tag name expected", t);
        switch (t.Text)
        {
            case "if": Next(); return ParseIf(t);
            case "for": Next(); return ParseFor(t);
            case "set": Next(); return ParseSet(t);
            case "macro": Next(); return ParseMacro(t);
            case "filter": Next(); return ParseFilterBlock(t);
            case "with": Next(); return ParseWith(t);
            case "break": Next(); return new BreakStmt(t.Pos);
            case "continue": Next(); return new ContinueStmt(t.Pos);
            case "generation":
                {
                    // transformers' AssistantTracker extension: renders its body unchanged.
                    Next();
                    var body = ParseStatements(["endgeneration"], dropNeedle: true);
                    return new IfStmt(t.Pos, new ConstExpr(t.Pos, true), body, []);
                }
        }
        if (Unsupported.Contains(t.Text)) throw Fail($"the '{t.Text}' tag is not supported by this chat-template engine", t);
        throw Fail($"Encountered unknown tag '{t.Text}'.", t);
    }

    IfStmt ParseIf(Token start)
    {
        var test = ParseTuple(withCondExpr: false);
        var body = ParseStatements(["elif", "else", "endif"]);
        var tag = Next();
        Stmt[] els = [];
        if (tag.IsName("elif")) els = [ParseIf(tag)];
        else if (tag.IsName("else")) els = ParseStatements(["endif"], dropNeedle: true);
        return new IfStmt(start.Pos, test, body, els);
    }

    ForStmt ParseFor(Token start)
    {
        var target = ParseAssignTarget(["in"], allowNamespace: false);
        Expect(TokenKind.Name, "in");
        var iter = ParseTuple(withCondExpr: false, extraEnd: ["recursive"]);
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        if (Current.IsName("recursive")) throw Fail("recursive loops are not supported by this chat-template engine", Current);
        var body = ParseStatements(["endfor", "else"]);
        Stmt[] els = [];
        if (Next().IsName("else")) els = ParseStatements(["endfor"], dropNeedle: true);
        return new ForStmt(start.Pos, target, iter, filter, body, els);
    }

    Stmt ParseSet(Token start)
    {
        var target = ParseAssignTarget(null, allowNamespace: true);
        if (SkipOp("=")) return new SetStmt(start.Pos, target, ParseTuple(withCondExpr: true));
        var filters = new List<FilterExpr>();
        if (Current.IsOp("|")) filters.AddRange(ParseFilterChain());
        var body = ParseStatements(["endset"], dropNeedle: true);
        return new SetBlockStmt(start.Pos, target, body, [.. filters]);
    }

    MacroStmt ParseMacro(Token start)
    {
        var name = Expect(TokenKind.Name).Text;
        var names = new List<string>();
        var defaults = new List<Expr?>();
        Expect(TokenKind.Operator, "(");
        while (!Current.IsOp(")"))
        {
            if (names.Count > 0) Expect(TokenKind.Operator, ",");
            if (Current.IsOp(")")) break;
            var arg = Expect(TokenKind.Name);
            names.Add(arg.Text);
            if (SkipOp("=")) defaults.Add(ParseExpression());
            else if (defaults.Any(d => d != null)) throw Fail("non-default argument follows default argument", arg);
            else defaults.Add(null);
        }
        Expect(TokenKind.Operator, ")");
        var body = ParseStatements(["endmacro"], dropNeedle: true);
        return new MacroStmt(start.Pos, name, [.. names], [.. defaults], body);
    }

    FilterBlockStmt ParseFilterBlock(Token start)
    {
        var filters = ParseFilterChain(startInline: true);
        var body = ParseStatements(["endfilter"], dropNeedle: true);
        return new FilterBlockStmt(start.Pos, filters, body);
    }

    WithStmt ParseWith(Token start)
    {
        var targets = new List<Target>();
        var values = new List<Expr>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (targets.Count > 0) Expect(TokenKind.Operator, ",");
            targets.Add(ParseAssignTarget(null, allowNamespace: false));
            Expect(TokenKind.Operator, "=");
            values.Add(ParseExpression());
        }
        var body = ParseStatements(["endwith"], dropNeedle: true);
        return new WithStmt(start.Pos, [.. targets], [.. values], body);
    }

    Target ParseAssignTarget(string[]? extraEnd, bool allowNamespace)
    {
        var t = Current;
        if (allowNamespace && t.Kind == TokenKind.Name && Peek.IsOp("."))
        {
            Next();
            Next();
            var attr = Expect(TokenKind.Name);
            return new NamespaceTarget(t.Pos, t.Text, attr.Text);
        }
        var items = new List<Target>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (Current.Kind is TokenKind.BlockEnd or TokenKind.VariableEnd || Current.IsOp(")") || Current.IsOp("=")
                || (extraEnd != null && Current.Kind == TokenKind.Name && extraEnd.Contains(Current.Text)))
                break;
            var name = Expect(TokenKind.Name);
            if (name.Text is "true" or "false" or "none" or "True" or "False" or "None")
                throw Fail($"can't assign to '{name.Text}'", name);
            items.Add(new NameTarget(name.Pos, name.Text));
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (items.Count == 0) throw Fail($"expected token 'name', got {Describe(Current)}", Current);
        return isTuple ? new TupleTarget(t.Pos, [.. items]) : items[0];
    }

    // ---------- expressions ----------

    Expr ParseExpression(bool withCondExpr = true) => withCondExpr ? ParseCondExpr() : ParseOr();

    Expr ParseCondExpr()
    {
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            var t = Next();
            var test = ParseOr();
            Expr? els = SkipName("else") ? ParseCondExpr() : null;
            expr = new CondExpr(t.Pos, test, expr, els);
        }
        return expr;
    }

    Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or")) { var t = Next(); left = new BinaryExpr(t.Pos, "or", left, ParseAnd()); }
        return left;
    }

    Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and")) { var t = Next(); left = new BinaryExpr(t.Pos, "and", left, ParseNot()); }
        return left;
    }

    Expr ParseNot()
    {
        if (!Current.IsName("not")) return ParseCompare();
        var t = Next();
        Enter(t);
        var operand = ParseNot();
        _depth--;
        return new UnaryExpr(t.Pos, "not", operand);
    }

    Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<KeyValuePair<string, Expr>>();
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.Operator && CompareOps.Contains(t.Text)) { Next(); rest.Add(new(t.Text, ParseMath1())); }
            else if (t.IsName("in")) { Next(); rest.Add(new("in", ParseMath1())); }
            else if (t.IsName("not") && Peek.IsName("in")) { Next(); Next(); rest.Add(new("notin", ParseMath1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first.Pos, first, [.. rest]);
    }

    Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.IsOp("+") || Current.IsOp("-")) { var t = Next(); left = new BinaryExpr(t.Pos, t.Text, left, ParseConcat()); }
        return left;
    }

    Expr ParseConcat()
    {
        var parts = new List<Expr> { ParseMath2() };
        while (SkipOp("~")) parts.Add(ParseMath2());
        return parts.Count == 1 ? parts[0] : new ConcatExpr(parts[0].Pos, [.. parts]);
    }

    Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
        {
            var t = Next();
            left = new BinaryExpr(t.Pos, t.Text, left, ParsePow());
        }
        return left;
    }

    Expr ParsePow()
    {
        var left = ParseUnary();
        while (Current.IsOp("**")) { var t = Next(); left = new BinaryExpr(t.Pos, "**", left, ParseUnary()); }
        return left;
    }

    Expr ParseUnary(bool withFilter = true)
    {
        var t = Current;
        Enter(t);
        Expr node;
        if (t.IsOp("-") || t.IsOp("+"))
        {
            Next();
            node = new UnaryExpr(t.Pos, t.Text, ParseUnary(false));
        }
        else node = ParsePrimary();
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        _depth--;
        return node;
    }

    Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Next();
                return t.Text switch
                {
                    "true" or "True" => new ConstExpr(t.Pos, true),
                    "false" or "False" => new ConstExpr(t.Pos, false),
                    "none" or "None" => new ConstExpr(t.Pos, null),
                    _ => new NameExpr(t.Pos, t.Text),
                };
            case TokenKind.String:
                {
                    Next();
                    string s = (string)t.Value!;
                    while (Current.Kind == TokenKind.String) s += (string)Next().Value!;  // adjacent literals concatenate
                    return new ConstExpr(t.Pos, s);
                }
            case TokenKind.Integer:
            case TokenKind.Float:
                Next();
                return new ConstExpr(t.Pos, t.Value);
            case TokenKind.Operator when t.Text == "(":
                {
                    Next();
                    var e = ParseTuple(withCondExpr: true, explicitParens: true);
                    Expect(TokenKind.Operator, ")");
                    return e;
                }
            case TokenKind.Operator when t.Text == "[":
                {
                    Next();
                    var items = new List<Expr>();
                    while (!Current.IsOp("]"))
                    {
                        if (items.Count > 0) Expect(TokenKind.Operator, ",");
                        if (Current.IsOp("]")) break;
                        items.Add(ParseExpression());
                    }
                    Expect(TokenKind.Operator, "]");
                    return new ListExpr(t.Pos, [.. items]);
                }
            case TokenKind.Operator when t.Text == "{":
                {
                    Next();
                    var items = new List<KeyValuePair<Expr, Expr>>();
                    while (!Current.IsOp("}"))
                    {
                        if (items.Count > 0) Expect(TokenKind.Operator, ",");
                        if (Current.IsOp("}")) break;
                        var key = ParseExpression();
                        Expect(TokenKind.Operator, ":");
                        items.Add(new(key, ParseExpression()));
                    }
                    Expect(TokenKind.Operator, "}");
                    return new DictExpr(t.Pos, [.. items]);
                }
        }
        throw Fail($"unexpected {Describe(t)}", t);
    }

    Expr ParseTuple(bool withCondExpr, string[]? extraEnd = null, bool explicitParens = false)
    {
        var start = Current;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd || Current.IsOp(")")
                || (extraEnd != null && Current.Kind == TokenKind.Name && extraEnd.Contains(Current.Text)))
                break;
            items.Add(ParseExpression(withCondExpr));
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count > 0) return items[0];
            if (!explicitParens) throw Fail($"Expected an expression, got {Describe(Current)}", Current);
        }
        return new TupleExpr(start.Pos, [.. items]);
    }

    Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOp(".") || Current.IsOp("[")) node = ParseSubscript(node);
            else if (Current.IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|")) node = ParseFilterChain(node);
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    Expr ParseSubscript(Expr node)
    {
        var t = Next();
        if (t.IsOp("."))
        {
            var attr = Next();
            if (attr.Kind == TokenKind.Name) return new GetAttrExpr(t.Pos, node, attr.Text);
            if (attr.Kind != TokenKind.Integer) throw Fail("expected name or number", attr);
            return new GetItemExpr(t.Pos, node, new ConstExpr(attr.Pos, attr.Value));
        }
        var args = new List<Expr>();
        while (!Current.IsOp("]"))
        {
            if (args.Count > 0) Expect(TokenKind.Operator, ",");
            args.Add(ParseSubscribed(node, t.Pos));
        }
        Expect(TokenKind.Operator, "]");
        if (args.Count == 1) return args[0];
        if (args.Any(a => a is SliceExpr)) throw Fail("multi-dimensional slicing is not supported", t);
        return new GetItemExpr(t.Pos, node, new TupleExpr(t.Pos, [.. args.Select(a => ((GetItemExpr)a).Key)]));
    }

    /// <summary>One subscript: an index expression (wrapped as GetItem) or a slice a:b:c.</summary>
    Expr ParseSubscribed(Expr obj, int pos)
    {
        Expr? start = null;
        if (!Current.IsOp(":"))
        {
            start = ParseExpression();
            if (!Current.IsOp(":")) return new GetItemExpr(pos, obj, start);
        }
        Next();
        Expr? stop = null, step = null;
        if (!Current.IsOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) stop = ParseExpression();
        if (SkipOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) step = ParseExpression();
        return new SliceExpr(pos, obj, start, stop, step);
    }

    (Expr[] Args, KeyValuePair<string, Expr>[] Kwargs) ParseCallArgs()
    {
        var open = Expect(TokenKind.Operator, "(");
        var args = new List<Expr>();
        var kwargs = new List<KeyValuePair<string, Expr>>();
        bool requireComma = false;
        while (!Current.IsOp(")"))
        {
            if (requireComma)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOp(")")) break;
            }
            if (Current.IsOp("*") || Current.IsOp("**")) throw Fail("*args and **kwargs in calls are not supported", Current);
            if (Current.Kind == TokenKind.Name && Peek.IsOp("="))
            {
                string key = Next().Text;
                Next();
                kwargs.Add(new(key, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Fail("invalid syntax for function call expression", Current);
                args.Add(ParseExpression());
            }
            requireComma = true;
        }
        Expect(TokenKind.Operator, ")");
        _ = open;
        return ([.. args], [.. kwargs]);
    }

    Expr ParseCall(Expr callee)
    {
        int pos = Current.Pos;
        var (args, kwargs) = ParseCallArgs();
        return new CallExpr(pos, callee, args, kwargs);
    }

    string ParseDottedName()
    {
        string name = Expect(TokenKind.Name).Text;
        while (Current.IsOp(".")) { Next(); name += "." + Expect(TokenKind.Name).Text; }
        return name;
    }

    Expr ParseFilterChain(Expr input)
    {
        while (Current.IsOp("|"))
        {
            Next();
            var t = Current;
            string name = ParseDottedName();
            var (args, kwargs) = Current.IsOp("(") ? ParseCallArgs() : ([], []);
            input = new FilterExpr(t.Pos, input, name, args, kwargs);
        }
        return input;
    }

    /// <summary>A filter chain without input (set/filter block heads).</summary>
    FilterExpr[] ParseFilterChain(bool startInline = false)
    {
        var list = new List<FilterExpr>();
        while (startInline || Current.IsOp("|"))
        {
            if (!startInline) Next();
            startInline = false;
            var t = Current;
            string name = ParseDottedName();
            var (args, kwargs) = Current.IsOp("(") ? ParseCallArgs() : ([], []);
            list.Add(new FilterExpr(t.Pos, null, name, args, kwargs));
        }
        return [.. list];
    }

    Expr ParseTest(Expr input)
    {
        var isTok = Next();
        bool negated = SkipName("not");
        var nameTok = Current;
        string name = ParseDottedName();
        Expr[] args = [];
        if (Current.IsOp("("))
        {
            var (a, kw) = ParseCallArgs();
            if (kw.Length > 0) throw Fail("keyword arguments to tests are not supported", nameTok);
            args = a;
        }
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || Current.IsOp("(") || Current.IsOp("[") || Current.IsOp("{"))
                 && !(Current.IsName("else") || Current.IsName("or") || Current.IsName("and")))
        {
            if (Current.IsName("is")) throw Fail("You cannot chain multiple tests with is", Current);
            var arg = ParsePostfix(ParsePrimary());
            args = [arg];
        }
        return new TestExpr(isTok.Pos, input, name, args, negated);
    }
}
