using System.Globalization;
using System.Text;

namespace TuneSharp.Export.Ollama;

/// <summary>A Go template that this evaluator cannot parse or execute the way Go's text/template does.</summary>
public sealed class GoTemplateException(string message) : Exception(message);

// ---- the tree (the shapes of Go's text/template/parse nodes that the subset uses)

abstract record GoNode;
sealed record GoText(string Text) : GoNode;
sealed record GoAction(GoPipe Pipe) : GoNode;
/// <summary>if / range / with: the pipeline, the body and the else branch (an `else if` is an else holding one if).</summary>
sealed record GoBranch(string Keyword, GoPipe Pipe, IReadOnlyList<GoNode> List, IReadOnlyList<GoNode>? Else) : GoNode;
sealed record GoLoopControl(bool IsBreak) : GoNode;

/// <summary>A pipeline: optional variable declarations (<c>$x :=</c>) or an assignment (<c>$x =</c>), then commands joined by '|'.</summary>
sealed record GoPipe(IReadOnlyList<string> Vars, bool IsAssign, IReadOnlyList<IReadOnlyList<GoArg>> Commands);

abstract record GoArg;
sealed record GoLiteral(object? Value) : GoArg;
/// <summary>A field chain on a receiver: <c>.A.B</c> (Receiver null = dot), <c>$x.A</c>, <c>(pipe).A</c>.</summary>
sealed record GoFieldChain(GoArg? Receiver, IReadOnlyList<string> Fields) : GoArg;
sealed record GoDot : GoArg;
sealed record GoVariable(string Name) : GoArg;
sealed record GoFunction(string Name) : GoArg;
sealed record GoSubPipe(GoPipe Pipe) : GoArg;

/// <summary>
/// Go text/template's lexer and parser for the subset Ollama chat templates use: text, actions, trim markers
/// (<c>{{- </c>, <c> -}}</c>), comments, if / else if / else, range (with <c>$i, $x :=</c>), with, break, continue,
/// variables (<c>:=</c>, <c>=</c>), fields, parenthesized pipelines, '|', string/raw/number/bool/nil literals and the
/// builtin functions listed in <see cref="GoTemplate.Functions"/>. <c>define</c>, <c>template</c> and <c>block</c> are
/// rejected. Whitespace trimming follows Go: the marker removes all adjacent spaces, tabs, carriage returns and newlines.
/// </summary>
sealed class GoTemplateParser
{
    readonly string _src;
    int _pos;
    readonly List<List<string>> _scopes = [["$"]];

    GoTemplateParser(string src) => _src = src;

    public static IReadOnlyList<GoNode> Parse(string source)
    {
        var p = new GoTemplateParser(source);
        var items = p.Lex();
        int i = 0;
        var list = p.ParseList(items, ref i, out string? stop);
        if (stop != null) throw new GoTemplateException($"unexpected {{{{{stop}}}}}");
        return list;
    }

    // ---- lexing: text and actions (an action is its token list); trim markers are applied to the texts here.

    sealed record Item(string? Text, List<Token>? Action);
    enum Kind { Ident, Field, Variable, String, Number, LeftParen, RightParen, Pipe, Declare, Assign, Comma, Dot }
    /// <summary>A token; <see cref="Spaced"/>: whitespace precedes it (".a .b" are two operands, ".a.b" one chain).</summary>
    sealed record Token(Kind Kind, string Text, object? Value = null)
    {
        public bool Spaced { get; init; }
    }

    List<Item> Lex()
    {
        var items = new List<Item>();
        bool trimNext = false;
        while (_pos < _src.Length)
        {
            int open = _src.IndexOf("{{", _pos, StringComparison.Ordinal);
            string text = open < 0 ? _src[_pos..] : _src[_pos..open];
            if (trimNext) text = text.TrimStart(' ', '\t', '\r', '\n');
            trimNext = false;
            if (open < 0)
            {
                if (text.Length > 0) items.Add(new Item(text, null));
                break;
            }
            _pos = open + 2;
            if (_pos + 1 < _src.Length && _src[_pos] == '-' && IsSpace(_src[_pos + 1]))
            {
                text = text.TrimEnd(' ', '\t', '\r', '\n');
                _pos += 2;
            }
            if (text.Length > 0) items.Add(new Item(text, null));
            if (_src.AsSpan(_pos).StartsWith("/*"))
            {
                // A comment starts right after the delimiter (and trim marker) and ends right before the closing one.
                int end = _src.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
                if (end < 0) throw new GoTemplateException("unclosed comment");
                _pos = end + 2;
                trimNext = CloseComment();
                continue;
            }
            var tokens = new List<Token>();
            while (true)
            {
                int before = _pos;
                SkipSpace();
                if (_pos >= _src.Length) throw new GoTemplateException("unclosed action");
                if (_pos > before && _src.AsSpan(_pos).StartsWith("-}}"))
                {
                    _pos += 3;
                    trimNext = true;
                    break;
                }
                if (_src.AsSpan(_pos).StartsWith("}}"))
                {
                    _pos += 2;
                    break;
                }
                bool spaced = _pos > before;
                tokens.Add(NextToken() with { Spaced = spaced });
            }
            if (tokens.Count == 0) throw new GoTemplateException("missing value for command");
            items.Add(new Item(null, tokens));
        }
        return items;
    }

    /// <summary>Consumes the " -}}" or "}}" right after a comment and says whether the following text is trimmed.</summary>
    bool CloseComment()
    {
        if (_src.AsSpan(_pos).StartsWith("}}"))
        {
            _pos += 2;
            return false;
        }
        if (_pos + 3 < _src.Length && IsSpace(_src[_pos]) && _src.AsSpan(_pos + 1).StartsWith("-}}"))
        {
            _pos += 4;
            return true;
        }
        throw new GoTemplateException("comment ends before closing delimiter");
    }

    void SkipSpace()
    {
        while (_pos < _src.Length && IsSpace(_src[_pos])) _pos++;
    }

    static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    static bool IsIdentChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    Token NextToken()
    {
        char c = _src[_pos];
        switch (c)
        {
            case '(': _pos++; return new Token(Kind.LeftParen, "(");
            case ')': _pos++; return new Token(Kind.RightParen, ")");
            case '|': _pos++; return new Token(Kind.Pipe, "|");
            case ',': _pos++; return new Token(Kind.Comma, ",");
            case '=': _pos++; return new Token(Kind.Assign, "=");
            case ':' when Peek(1) == '=': _pos += 2; return new Token(Kind.Declare, ":=");
            case '"': return new Token(Kind.String, "string", ReadQuoted());
            case '`': return new Token(Kind.String, "raw string", ReadRaw());
            case '$':
            {
                int start = _pos++;
                while (_pos < _src.Length && IsIdentChar(_src[_pos])) _pos++;
                return new Token(Kind.Variable, _src[start.._pos]);
            }
            case '.' when _pos + 1 < _src.Length && (char.IsLetter(_src[_pos + 1]) || _src[_pos + 1] == '_'):
            {
                int start = ++_pos;
                while (_pos < _src.Length && IsIdentChar(_src[_pos])) _pos++;
                return new Token(Kind.Field, _src[start.._pos]);
            }
            case '.' when !char.IsDigit(Peek(1)):
                _pos++;
                return new Token(Kind.Dot, ".");
        }
        if (char.IsDigit(c) || ((c is '-' or '+' or '.') && char.IsDigit(Peek(1)))) return ReadNumber();
        if (char.IsLetter(c) || c == '_')
        {
            int start = _pos;
            while (_pos < _src.Length && IsIdentChar(_src[_pos])) _pos++;
            return new Token(Kind.Ident, _src[start.._pos]);
        }
        throw new GoTemplateException($"unexpected character '{c}' in action");
    }

    char Peek(int offset) => _pos + offset < _src.Length ? _src[_pos + offset] : '\0';

    Token ReadNumber()
    {
        int start = _pos;
        if (_src[_pos] is '-' or '+') _pos++;
        while (_pos < _src.Length && (char.IsDigit(_src[_pos]) || _src[_pos] is '.' or 'e' or 'E' || (_src[_pos] is '-' or '+' && _src[_pos - 1] is 'e' or 'E'))) _pos++;
        string text = _src[start.._pos];
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return new Token(Kind.Number, text, l);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return new Token(Kind.Number, text, d);
        throw new GoTemplateException($"bad number syntax: \"{text}\"");
    }

    string ReadRaw()
    {
        int end = _src.IndexOf('`', _pos + 1);
        if (end < 0) throw new GoTemplateException("unterminated raw quoted string");
        string s = _src[(_pos + 1)..end];
        _pos = end + 1;
        return s.Replace("\r", "", StringComparison.Ordinal); // strconv.Unquote drops carriage returns from raw strings
    }

    /// <summary>A Go interpreted string literal with its escapes (\n, \t, \\, \", \xHH, \ooo, \uHHHH, \UHHHHHHHH, ...).</summary>
    string ReadQuoted()
    {
        var bytes = new List<byte>();
        _pos++;
        while (true)
        {
            if (_pos >= _src.Length || _src[_pos] == '\n') throw new GoTemplateException("unterminated quoted string");
            char c = _src[_pos++];
            if (c == '"') break;
            if (c != '\\')
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(char.IsHighSurrogate(c) ? new string([c, _src[_pos++]]) : c.ToString()));
                continue;
            }
            char e = _pos < _src.Length ? _src[_pos++] : '\0';
            switch (e)
            {
                case 'a': bytes.Add(7); break;
                case 'b': bytes.Add(8); break;
                case 'f': bytes.Add(12); break;
                case 'n': bytes.Add(10); break;
                case 'r': bytes.Add(13); break;
                case 't': bytes.Add(9); break;
                case 'v': bytes.Add(11); break;
                case '\\': bytes.Add((byte)'\\'); break;
                case '"': bytes.Add((byte)'"'); break;
                case 'x': bytes.Add((byte)Hex(2)); break;
                case 'u': bytes.AddRange(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(Hex(4)))); break;
                case 'U': bytes.AddRange(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(Hex(8)))); break;
                case >= '0' and <= '7':
                    _pos--;
                    int v = 0;
                    for (int k = 0; k < 3; k++)
                    {
                        if (_pos >= _src.Length || _src[_pos] is < '0' or > '7') throw new GoTemplateException("invalid octal escape in string");
                        v = v * 8 + (_src[_pos++] - '0');
                    }
                    if (v > 255) throw new GoTemplateException("octal escape value > 255 in string");
                    bytes.Add((byte)v);
                    break;
                default: throw new GoTemplateException($"unknown escape sequence \\{e} in string");
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    int Hex(int digits)
    {
        if (_pos + digits > _src.Length || !int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v))
            throw new GoTemplateException("invalid hex escape in string");
        _pos += digits;
        return v;
    }

    // ---- parsing

    /// <summary>Nodes up to an `end` or `else` action (returned in <paramref name="stop"/>), or the end of input.</summary>
    List<GoNode> ParseList(List<Item> items, ref int i, out string? stop)
    {
        var list = new List<GoNode>();
        stop = null;
        while (i < items.Count)
        {
            var item = items[i++];
            if (item.Text != null) { list.Add(new GoText(item.Text)); continue; }
            var t = item.Action!;
            var head = t[0];
            if (head.Kind == Kind.Ident)
                switch (head.Text)
                {
                    case "end":
                        Expect(t.Count == 1, "unexpected tokens after end");
                        stop = "end";
                        return list;
                    case "else":
                        stop = "else";
                        i--; // the caller reads the else action itself
                        return list;
                    case "if" or "range" or "with":
                        list.Add(ParseBranch(head.Text, t, items, ref i));
                        continue;
                    case "break" or "continue":
                        Expect(t.Count == 1, $"unexpected tokens after {head.Text}");
                        list.Add(new GoLoopControl(head.Text == "break"));
                        continue;
                    case "define" or "template" or "block":
                        throw new GoTemplateException($"'{head.Text}' is not supported by this evaluator");
                }
            int k = 0;
            var pipe = ParsePipe(t, ref k, allowDecl: true);
            Expect(k == t.Count, "unexpected tokens in action");
            list.Add(new GoAction(pipe));
        }
        return list;
    }

    GoBranch ParseBranch(string keyword, List<Token> tokens, List<Item> items, ref int i)
    {
        _scopes.Add([]);
        int k = 1;
        var pipe = ParsePipe(tokens, ref k, allowDecl: true, rangeDecl: keyword == "range");
        Expect(k == tokens.Count, $"unexpected tokens in {keyword}");
        Expect(pipe.Commands.Count > 0, $"missing value for {keyword}");
        var body = ParseList(items, ref i, out string? stop);
        List<GoNode>? elseList = null;
        if (stop == "else")
        {
            var elseTokens = items[i++].Action!;
            if (elseTokens.Count > 1)
            {
                // `else if ...` is an else branch holding a nested if that shares this if's end.
                Expect(keyword == "if" && elseTokens[1] is { Kind: Kind.Ident, Text: "if" }, "unsupported else form");
                elseList = [ParseBranch("if", elseTokens[1..], items, ref i)];
                _scopes.RemoveAt(_scopes.Count - 1);
                return new GoBranch(keyword, pipe, body, elseList);
            }
            elseList = ParseList(items, ref i, out stop);
        }
        if (stop != "end") throw new GoTemplateException($"unexpected EOF: {keyword} without end");
        _scopes.RemoveAt(_scopes.Count - 1);
        return new GoBranch(keyword, pipe, body, elseList);
    }

    GoPipe ParsePipe(List<Token> t, ref int k, bool allowDecl, bool rangeDecl = false)
    {
        var vars = new List<string>();
        bool assign = false;
        if (allowDecl && k < t.Count && t[k].Kind == Kind.Variable)
        {
            // $x := / $x = / (range only) $i, $x :=
            int save = k;
            var names = new List<string> { t[k].Text };
            int j = k + 1;
            if (rangeDecl && j + 1 < t.Count && t[j].Kind == Kind.Comma && t[j + 1].Kind == Kind.Variable)
            {
                names.Add(t[j + 1].Text);
                j += 2;
            }
            if (j < t.Count && t[j].Kind is Kind.Declare or Kind.Assign)
            {
                assign = t[j].Kind == Kind.Assign;
                if (assign && names.Count > 1) throw new GoTemplateException("too many declarations in range assignment");
                if (assign && !IsDeclared(names[0])) throw new GoTemplateException($"undefined variable \"{names[0]}\"");
                if (!assign) _scopes[^1].AddRange(names);
                vars = names;
                k = j + 1;
            }
            else k = save;
        }
        var commands = new List<IReadOnlyList<GoArg>>();
        while (k < t.Count && t[k].Kind != Kind.RightParen)
        {
            var args = new List<GoArg>();
            while (k < t.Count && t[k].Kind is not (Kind.Pipe or Kind.RightParen)) args.Add(ParseOperand(t, ref k));
            Expect(args.Count > 0, "missing command");
            commands.Add(args);
            if (k < t.Count && t[k].Kind == Kind.Pipe) k++;
        }
        return new GoPipe(vars, assign, commands);
    }

    GoArg ParseOperand(List<Token> t, ref int k)
    {
        var tok = t[k++];
        GoArg arg = tok.Kind switch
        {
            Kind.String or Kind.Number => new GoLiteral(tok.Value),
            Kind.Dot => new GoDot(),
            Kind.Field => ReadFields(null, tok.Text, t, ref k),
            Kind.Variable => IsDeclared(tok.Text) ? new GoVariable(tok.Text) : throw new GoTemplateException($"undefined variable \"{tok.Text}\""),
            Kind.LeftParen => ParseParenthesized(t, ref k),
            Kind.Ident => tok.Text switch
            {
                "true" => new GoLiteral(true),
                "false" => new GoLiteral(false),
                "nil" => new GoLiteral(null),
                _ when GoTemplate.Functions.Contains(tok.Text) => new GoFunction(tok.Text),
                _ => throw new GoTemplateException($"function \"{tok.Text}\" not defined"),
            },
            _ => throw new GoTemplateException($"unexpected \"{tok.Text}\" in operand"),
        };
        if (arg is GoVariable or GoSubPipe && k < t.Count && t[k] is { Kind: Kind.Field, Spaced: false })
        {
            var fields = new List<string>();
            while (k < t.Count && t[k] is { Kind: Kind.Field, Spaced: false }) fields.Add(t[k++].Text);
            return new GoFieldChain(arg, fields);
        }
        return arg;
    }

    GoArg ParseParenthesized(List<Token> t, ref int k)
    {
        var pipe = ParsePipe(t, ref k, allowDecl: false);
        Expect(k < t.Count && t[k].Kind == Kind.RightParen, "unclosed left paren");
        k++;
        return new GoSubPipe(pipe);
    }

    static GoFieldChain ReadFields(GoArg? receiver, string first, List<Token> t, ref int k)
    {
        var fields = new List<string> { first };
        while (k < t.Count && t[k] is { Kind: Kind.Field, Spaced: false }) fields.Add(t[k++].Text);
        return new GoFieldChain(receiver, fields);
    }

    bool IsDeclared(string name) => _scopes.Any(s => s.Contains(name));

    static void Expect(bool condition, string message)
    {
        if (!condition) throw new GoTemplateException(message);
    }
}
